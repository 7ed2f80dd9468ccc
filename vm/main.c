/* main.c: the nnlua host, shaped like Lua 5.4's lua.c.
 *
 *   nnlua [options] [script [args]]
 *
 * Protected main (pmain runs inside lua_pcall, so a memory error is reported, not a crash),
 * a message handler that appends a traceback, Ctrl-C turned into the Lua error "interrupted!"
 * through a debug hook, the global `arg` (arg[0] = script, options at negative indices),
 * LUA_INIT, -e -l -i -v -E -W - --. On top of lua.c: the globals torch nn optim data are
 * preloaded, the script's folder is searched first by require, and the REPL (repl.c) has
 * readline editing, persistent history and completion of globals, fields and methods. */
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include "nl_dist.h"
#include "nnlua.h"
#include "repl.h"

static const char *progname = "nnlua";
static lua_State *globalL = NULL;

/* ---- Ctrl-C ----------------------------------------------------------------------------- */

static void setsignal(int sig, void (*handler)(int)) {
  struct sigaction sa;
  sa.sa_handler = handler;
  sa.sa_flags = 0;
  sigemptyset(&sa.sa_mask);
  sigaction(sig, &sa, NULL);
}

/* Hook set by laction: the next Lua instruction raises "interrupted!". */
static void lstop(lua_State *L, lua_Debug *ar) {
  (void)ar;
  lua_sethook(L, NULL, 0, 0);
  luaL_error(L, "interrupted!");
}

/* SIGINT while Lua runs: only set a hook (the one async-signal-safe thing to do with a
 * lua_State); a second Ctrl-C before the hook fires kills the process (SIG_DFL). */
static void laction(int i) {
  int flag = LUA_MASKCALL | LUA_MASKRET | LUA_MASKLINE | LUA_MASKCOUNT;
  setsignal(i, SIG_DFL);
  lua_sethook(globalL, lstop, flag, 1);
}

/* ---- messages and calls ----------------------------------------------------------------- */

static void print_usage(const char *badoption) {
  fprintf(stderr, "%s: ", progname);
  if (badoption[1] == 'e' || badoption[1] == 'l')
    fprintf(stderr, "'%s' needs argument\n", badoption);
  else
    fprintf(stderr, "unrecognized option '%s'\n", badoption);
  fprintf(stderr,
          "usage: %s [options] [script [args]]\n"
          "Available options are:\n"
          "  -e stat   execute string 'stat'\n"
          "  -i        enter interactive mode after executing 'script'\n"
          "  -l mod    require library 'mod' into global 'mod'\n"
          "  -l g=mod  require library 'mod' into global 'g'\n"
          "  -v        show version information\n"
          "  -E        ignore environment variables\n"
          "  -W        turn warnings on\n"
          "  --        stop handling options\n"
          "  -         stop handling options and execute stdin\n",
          progname);
  fflush(stderr);
}

static void l_message(const char *pname, const char *msg) {
  if (pname) fprintf(stderr, "%s: ", pname);
  fprintf(stderr, "%s\n", msg);
  fflush(stderr);
}

int host_report(lua_State *L, int status) {
  if (status != LUA_OK) {
    const char *msg = lua_tostring(L, -1);
    if (msg == NULL) msg = "(error object is not a string)";
    l_message(progname, msg);
    lua_pop(L, 1);
  }
  return status;
}

/* Message handler: error message (or __tostring of the error object) plus a traceback. */
static int msghandler(lua_State *L) {
  const char *msg = lua_tostring(L, 1);
  if (msg == NULL) {
    if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING) return 1;
    msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
  }
  luaL_traceback(L, L, msg, 1);
  return 1;
}

/* Calls the function under its narg arguments with the message handler and Ctrl-C armed. */
int host_docall(lua_State *L, int narg, int nres) {
  int base = lua_gettop(L) - narg;
  lua_pushcfunction(L, msghandler);
  lua_insert(L, base);
  globalL = L;
  setsignal(SIGINT, laction);
  int status = lua_pcall(L, narg, nres, base);
  setsignal(SIGINT, SIG_DFL);
  lua_remove(L, base);
  return status;
}

void host_set_interactive(int on) { progname = on ? NULL : "nnlua"; }

static void print_version(void) {
  printf("%s\n", nnlua_version());
  fflush(stdout);
}

/* arg: script name at 0, its arguments at 1.., the interpreter and options below 0. */
static void createargtable(lua_State *L, char **argv, int argc, int script) {
  if (script == argc) script = 0; /* no script: arg[0] is the interpreter */
  int narg = argc - (script + 1);
  lua_createtable(L, narg > 0 ? narg : 0, script + 1);
  for (int i = 0; i < argc; i++) {
    lua_pushstring(L, argv[i]);
    lua_rawseti(L, -2, i - script);
  }
  lua_setglobal(L, "arg");
}

static int dochunk(lua_State *L, int status) {
  if (status == LUA_OK) status = host_docall(L, 0, 0);
  return host_report(L, status);
}

static int dofile(lua_State *L, const char *name) { return dochunk(L, luaL_loadfile(L, name)); }

static int dostring(lua_State *L, const char *s, const char *name) {
  return dochunk(L, luaL_loadbuffer(L, s, strlen(s), name));
}

/* -l mod, -l g=mod: require mod into global g (default: mod without its '-' prefix). */
static int dolibrary(lua_State *L, const char *spec) {
  char buf[1024];
  snprintf(buf, sizeof buf, "%s", spec);
  char *globname = buf, *modname = strchr(buf, '=');
  if (modname == NULL) {
    modname = globname;
    globname = strrchr(modname, '-'); /* LUA_IGMARK */
    globname = globname ? globname + 1 : modname;
  } else {
    *modname++ = '\0';
  }
  lua_getglobal(L, "require");
  lua_pushstring(L, modname);
  int status = host_docall(L, 1, 1);
  if (status == LUA_OK) lua_setglobal(L, globname);
  return host_report(L, status);
}

/* Pushes arg[1..n] and returns n. */
static int pushargs(lua_State *L) {
  if (lua_getglobal(L, "arg") != LUA_TTABLE) luaL_error(L, "'arg' is not a table");
  int n = (int)luaL_len(L, -1);
  luaL_checkstack(L, n + 3, "too many arguments to script");
  int i;
  for (i = 1; i <= n; i++) lua_rawgeti(L, -i, i);
  lua_remove(L, -i);
  return n;
}

/* package.path = "<dir>/?.lua;<dir>/?/init.lua;" .. package.path, dir = the script's folder
 * (absolute when it can be resolved, so a script that changes directory still finds it). */
static void add_script_dir(lua_State *L, const char *fname) {
  char dir[PATH_MAX];
  const char *slash = strrchr(fname, '/');
  if (slash == NULL) {
    snprintf(dir, sizeof dir, ".");
  } else {
    size_t n = (size_t)(slash - fname);
    if (n == 0) n = 1; /* "/x.lua" -> "/" */
    if (n >= sizeof dir) return;
    memcpy(dir, fname, n);
    dir[n] = '\0';
  }
  char real[PATH_MAX];
  if (realpath(dir, real) != NULL) snprintf(dir, sizeof dir, "%s", real);
  if (strpbrk(dir, "?;") != NULL) return; /* would break the template syntax */
  const char *sep = dir[strlen(dir) - 1] == '/' ? "" : "/";
  lua_getglobal(L, "package");
  if (!lua_istable(L, -1)) { lua_pop(L, 1); return; }
  lua_getfield(L, -1, "path");
  const char *old = lua_tostring(L, -1);
  lua_pushfstring(L, "%s%s?.lua;%s%s?/init.lua;%s", dir, sep, dir, sep, old ? old : "");
  lua_setfield(L, -3, "path");
  lua_pop(L, 2);
}

static int handle_script(lua_State *L, char **argv) {
  const char *fname = argv[0];
  if (strcmp(fname, "-") == 0 && strcmp(argv[-1], "--") != 0) fname = NULL; /* stdin */
  if (fname) add_script_dir(L, fname);
  int status = luaL_loadfile(L, fname);
  if (status == LUA_OK) {
    int n = pushargs(L);
    status = host_docall(L, n, LUA_MULTRET);
  }
  return host_report(L, status);
}

/* ---- options ---------------------------------------------------------------------------- */

enum { has_error = 1, has_i = 2, has_v = 4, has_e = 8, has_E = 16 };

/* Checks the options; *first = index of the script (0 when none, -1 when argv is empty).
 * On has_error, *first is the offending option. */
static int collectargs(char **argv, int *first) {
  int args = 0;
  if (argv[0] == NULL) { *first = -1; return 0; }
  for (int i = 1; argv[i] != NULL; i++) {
    *first = i;
    if (argv[i][0] != '-') return args; /* not an option: the script */
    switch (argv[i][1]) {
    case '-': /* "--" */
      if (argv[i][2] != '\0') return has_error;
      *first = i + 1;
      return args;
    case '\0': /* "-": stdin as the script */
      return args;
    case 'E':
      if (argv[i][2] != '\0') return has_error;
      args |= has_E;
      break;
    case 'W':
      if (argv[i][2] != '\0') return has_error;
      break;
    case 'i':
      args |= has_i; /* -i implies -v */
      /* fallthrough */
    case 'v':
      if (argv[i][2] != '\0') return has_error;
      args |= has_v;
      break;
    case 'e':
      args |= has_e;
      /* fallthrough */
    case 'l':
      if (argv[i][2] == '\0') { /* the argument is the next word */
        i++;
        if (argv[i] == NULL || argv[i][0] == '-') { *first = i - 1; return has_error; }
      }
      break;
    default:
      return has_error;
    }
  }
  *first = 0;
  return args;
}

/* Runs -e and -l (and -W) in order, up to the script (index n). */
static int runargs(lua_State *L, char **argv, int n) {
  for (int i = 1; i < n; i++) {
    int option = argv[i][1];
    switch (option) {
    case 'e':
    case 'l': {
      const char *extra = argv[i] + 2;
      if (*extra == '\0') extra = argv[++i];
      int status = option == 'e' ? dostring(L, extra, "=(command line)") : dolibrary(L, extra);
      if (status != LUA_OK) return 0;
      break;
    }
    case 'W':
      lua_warning(L, "@on", 0);
      break;
    }
  }
  return 1;
}

/* NNLUA_INIT, then LUA_INIT_5_4, then LUA_INIT: "@file" runs a file, anything else is code. */
static int handle_luainit(lua_State *L) {
  static const char *const vars[] = {"=NNLUA_INIT", "=LUA_INIT_5_4", "=LUA_INIT"};
  for (int i = 0; i < 3; i++) {
    const char *init = getenv(vars[i] + 1);
    if (init == NULL) continue;
    if (init[0] == '@') return dofile(L, init + 1);
    return dostring(L, init, vars[i]);
  }
  return LUA_OK;
}

static int pmain(lua_State *L) {
  int argc = (int)lua_tointeger(L, 1);
  char **argv = (char **)lua_touserdata(L, 2);
  int script = 0;
  int args = collectargs(argv, &script);
  int optlim = script > 0 ? script : argc;
  luaL_checkversion(L);
  if (args == has_error) {
    print_usage(argv[script]);
    return 0;
  }
  if (args & has_v) print_version();
  if (args & has_E) { /* package.path/cpath ignore LUA_PATH and LUA_CPATH */
    lua_pushboolean(L, 1);
    lua_setfield(L, LUA_REGISTRYINDEX, "LUA_NOENV");
  }
  luaL_openlibs(L);
  nnlua_openlibs_globals(L);
  createargtable(L, argv, argc, script > 0 ? script : argc);
  lua_gc(L, LUA_GCRESTART);
  if (!(args & has_E) && handle_luainit(L) != LUA_OK) return 0;
  if (!runargs(L, argv, optlim)) return 0;
  if (script > 0 && handle_script(L, argv + script) != LUA_OK) return 0;
  if (args & has_i) {
    repl_run(L);
  } else if (script < 1 && !(args & (has_e | has_v))) {
    if (isatty(STDIN_FILENO)) {
      print_version();
      repl_run(L);
    } else if (dofile(L, NULL) != LUA_OK) {
      return 0;
    }
  }
  lua_pushboolean(L, 1);
  return 1;
}

/* ---- the state's allocator: pooled small blocks ------------------------------------------ */
/* Every tensor op result is a fresh userdata (and dies as one), so the host's Lua allocator
 * sees a malloc and a free per call: 290 of the 3,470 instructions of a + b on 4 elements in
 * callgrind. Blocks of up to NL_LA_MAX bytes come from per-size-class free lists (16-byte
 * classes) carved from 64 KB chunks, which go back to the system when the state closes;
 * larger blocks use malloc. Off (plain malloc, every block visible to the sanitizers and
 * valgrind) under AddressSanitizer and when NNLUA_CPU_CACHE_MB=0, like the tensor pools. A
 * state belongs to one thread at a time, so the lists need no lock. */
#define NL_LA_MAX 256
#define NL_LA_CHUNK (64 * 1024)
typedef struct nl_lalloc {
  void *free[NL_LA_MAX / 16];
  void *chunks; /* each chunk's first word links the next */
  char *cur, *end;
} nl_lalloc;

static void *nl_la_get(nl_lalloc *a, int c) {
  void *p = a->free[c];
  if (p) {
    a->free[c] = *(void **)p;
    return p;
  }
  size_t sz = (size_t)(c + 1) * 16;
  if (a->cur == NULL || (size_t)(a->end - a->cur) < sz) {
    char *ch = malloc(NL_LA_CHUNK);
    if (!ch) return NULL;
    *(void **)ch = a->chunks;
    a->chunks = ch;
    a->cur = ch + 16, a->end = ch + NL_LA_CHUNK;
  }
  p = a->cur;
  a->cur += sz;
  return p;
}

static void *nl_lua_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
  nl_lalloc *a = ud;
  if (ptr == NULL) osize = 0; /* then osize codes the kind of object */
  int oc = osize && osize <= NL_LA_MAX ? (int)((osize - 1) / 16) : -1;
  int nc = nsize && nsize <= NL_LA_MAX ? (int)((nsize - 1) / 16) : -1;
  if (nsize == 0 || (oc < 0 && nc < 0)) { /* free, or malloc-sized before and after */
    if (oc >= 0) {
      *(void **)ptr = a->free[oc];
      a->free[oc] = ptr;
      return NULL;
    }
    if (nsize == 0) {
      free(ptr);
      return NULL;
    }
    return realloc(ptr, nsize);
  }
  if (ptr && oc == nc) return ptr; /* same class */
  void *p = nc >= 0 ? nl_la_get(a, nc) : malloc(nsize);
  if (!p) return NULL;
  if (ptr) {
    memcpy(p, ptr, osize < nsize ? osize : nsize);
    nl_lua_alloc(ud, ptr, osize, 0);
  }
  return p;
}

static void nl_la_release(nl_lalloc *a) {
  for (void *ch = a->chunks, *next; ch; ch = next) {
    next = *(void **)ch;
    free(ch);
  }
}

/* luaL_newstate's panic and warning functions (lauxlib.c keeps them static) */
static int nl_panic(lua_State *L) {
  const char *msg = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "error object is not a string";
  lua_writestringerror("PANIC: unprotected error in call to Lua API (%s)\n", msg);
  return 0;
}
static void nl_warnfon(void *ud, const char *message, int tocont);
static void nl_warnfoff(void *ud, const char *message, int tocont);
static int nl_warn_control(lua_State *L, const char *message, int tocont) {
  if (tocont || *(message++) != '@') return 0;
  if (strcmp(message, "off") == 0) lua_setwarnf(L, nl_warnfoff, L);
  else if (strcmp(message, "on") == 0) lua_setwarnf(L, nl_warnfon, L);
  return 1;
}
static void nl_warnfoff(void *ud, const char *message, int tocont) { nl_warn_control(ud, message, tocont); }
static void nl_warnfcont(void *ud, const char *message, int tocont) {
  lua_State *L = ud;
  lua_writestringerror("%s", message);
  if (tocont) {
    lua_setwarnf(L, nl_warnfcont, L);
  } else {
    lua_writestringerror("%s", "\n");
    lua_setwarnf(L, nl_warnfon, L);
  }
}
static void nl_warnfon(void *ud, const char *message, int tocont) {
  if (nl_warn_control(ud, message, tocont)) return;
  lua_writestringerror("%s", "Lua warning: ");
  nl_warnfcont(ud, message, tocont);
}

/* luaL_newstate with the pooled allocator when it is on (*pool set), else luaL_newstate. */
static lua_State *nl_newstate(nl_lalloc **pool) {
  *pool = NULL;
#if !defined(__SANITIZE_ADDRESS__)
  const char *mb = getenv("NNLUA_CPU_CACHE_MB");
  if (!(mb && strtod(mb, NULL) == 0)) {
    nl_lalloc *a = calloc(1, sizeof *a);
    lua_State *L = a ? lua_newstate(nl_lua_alloc, a) : NULL;
    if (L) {
      lua_atpanic(L, nl_panic);
      lua_setwarnf(L, nl_warnfoff, L); /* warnings off by default, as in luaL_newstate */
      *pool = a;
      return L;
    }
    free(a);
  }
#endif
  return luaL_newstate();
}

int main(int argc, char **argv) {
  nl_lalloc *pool;
  lua_State *L = nl_newstate(&pool);
  if (L == NULL) {
    l_message(progname, "cannot create state: not enough memory");
    return EXIT_FAILURE;
  }
  lua_gc(L, LUA_GCSTOP); /* no collection while the libraries load */
  lua_pushcfunction(L, pmain);
  lua_pushinteger(L, argc);
  lua_pushlightuserdata(L, argv);
  int status = lua_pcall(L, 2, 1, 0);
  int result = lua_toboolean(L, -1);
  host_report(L, status);
  /* An uncaught error under mpirun with a process group: abort the whole MPI job at once
   * rather than leave the other ranks to their collective timeout (dist/mpi.c). */
  if (!(result && status == LUA_OK)) nl_dist_fatal(1);
  lua_close(L);
  if (pool) {
    nl_la_release(pool);
    free(pool);
  }
  return (result && status == LUA_OK) ? EXIT_SUCCESS : EXIT_FAILURE;
}
