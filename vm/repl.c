/* repl.c: the nnlua REPL (lua.c's doREPL plus readline niceties).
 *
 * Each input is tried first as `return <line>` so expressions print their values (through
 * the global print, so tensors and modules use their __tostring; several values are separated
 * by tabs); otherwise it is compiled as a statement, and while the syntax error ends at
 * "<eof>" more lines are read with the ">> " prompt. Errors are printed and the loop goes on.
 *
 * With stdin a terminal: GNU readline through its callback interface (so Ctrl-C at the prompt
 * drops the current input instead of killing the process), history loaded from and appended
 * to $NNLUA_HISTORY or ~/.nnlua_history (NNLUA_HISTORY="" disables it), and tab completion:
 * globals and keywords, `a.b.c.<prefix>` fields of tables (following __index tables), and
 * `obj:<prefix>` methods (a userdata's metatable __index; for tensors the methods of
 * torch.Tensor). Without a terminal it reads plain lines and prints the prompts. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <unistd.h>

#include <readline/history.h>
#include <readline/readline.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include "ltensor.h"
#include "repl.h"

#define REPL_MAXINPUT 4096
#define REPL_EOFMARK "<eof>"

enum { LINE_EOF = 0, LINE_OK = 1, LINE_INTERRUPTED = 2 };
enum { STATUS_NONE = -1, STATUS_SKIP = -2 };

static lua_State *repl_L;
static int repl_tty;
static char *history_path;

/* ---- reading lines ---------------------------------------------------------------------- */

static volatile sig_atomic_t got_sigint;
static char *cb_line;
static int cb_done;

static void on_sigint(int sig) {
  (void)sig;
  got_sigint = 1;
}

static void on_line(char *line) {
  cb_line = line;
  cb_done = 1;
  rl_callback_handler_remove();
}

/* One line from the terminal with readline; NULL at end of input or on Ctrl-C. */
static char *read_tty(const char *prompt, int *interrupted) {
  struct sigaction sa, old;
  sa.sa_handler = on_sigint;
  sa.sa_flags = 0; /* no SA_RESTART: select() returns EINTR */
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, &old);
  got_sigint = 0;
  cb_line = NULL;
  cb_done = 0;
  *interrupted = 0;
  fflush(stdout);
  rl_callback_handler_install(prompt, on_line);
  while (!cb_done) {
    int fd = fileno(rl_instream);
    fd_set fds;
    FD_ZERO(&fds);
    FD_SET(fd, &fds);
    int r = select(fd + 1, &fds, NULL, NULL, NULL);
    if (r > 0) {
      rl_callback_read_char();
    } else if (r < 0 && errno == EINTR) {
      if (got_sigint) {
        rl_point = rl_end; /* show "^C" after the whole line, then drop it */
        rl_redisplay();
        fputs("^C\n", rl_outstream);
        fflush(rl_outstream);
        rl_free_line_state();
        rl_callback_sigcleanup();
        rl_callback_handler_remove();
        *interrupted = 1;
        break;
      }
    } else if (r < 0) {
      rl_callback_handler_remove();
      break;
    }
  }
  sigaction(SIGINT, &old, NULL);
  return cb_line;
}

/* One line from a pipe or file (malloc'd, no newline); NULL at end of input. */
static char *read_plain(const char *prompt) {
  char buf[REPL_MAXINPUT];
  fputs(prompt, stdout);
  fflush(stdout);
  if (fgets(buf, sizeof buf, stdin) == NULL) return NULL;
  size_t n = strlen(buf);
  if (n > 0 && buf[n - 1] == '\n') buf[--n] = '\0';
  char *line = malloc(n + 1);
  if (line) memcpy(line, buf, n + 1);
  return line;
}

static const char *get_prompt(lua_State *L, int firstline) {
  if (lua_getglobal(L, firstline ? "_PROMPT" : "_PROMPT2") == LUA_TNIL) {
    lua_pop(L, 1);
    return firstline ? "> " : ">> ";
  }
  const char *p = luaL_tolstring(L, -1, NULL);
  lua_remove(L, -2);
  return p; /* stays on the stack (popped by the caller) */
}

/* Pushes the next line; LINE_EOF, LINE_OK or LINE_INTERRUPTED. */
static int pushline(lua_State *L, int firstline) {
  const char *prompt = get_prompt(L, firstline);
  int pushed_prompt = lua_type(L, -1) == LUA_TSTRING && lua_tostring(L, -1) == prompt;
  int interrupted = 0;
  char *line = repl_tty ? read_tty(prompt, &interrupted) : read_plain(prompt);
  if (pushed_prompt) lua_pop(L, 1);
  if (interrupted) return LINE_INTERRUPTED;
  if (line == NULL) return LINE_EOF;
  size_t n = strlen(line);
  if (n > 0 && line[n - 1] == '\n') line[--n] = '\0';
  lua_pushlstring(L, line, n);
  free(line);
  return LINE_OK;
}

static void saveline(const char *line) {
  if (!repl_tty || line[0] == '\0') return;
  HIST_ENTRY *last = history_length > 0 ? history_get(history_base + history_length - 1) : NULL;
  if (last && strcmp(last->line, line) == 0) return; /* no immediate duplicates */
  add_history(line);
  if (history_path) append_history(1, history_path);
}

/* ---- compiling input -------------------------------------------------------------------- */

/* A syntax error at "<eof>" means the chunk is incomplete: pops the message, returns 1. */
static int incomplete(lua_State *L, int status) {
  if (status == LUA_ERRSYNTAX) {
    size_t lmsg;
    const char *msg = lua_tolstring(L, -1, &lmsg);
    size_t marklen = sizeof(REPL_EOFMARK) - 1;
    if (lmsg >= marklen && strcmp(msg + lmsg - marklen, REPL_EOFMARK) == 0) {
      lua_pop(L, 1);
      return 1;
    }
  }
  return 0;
}

/* Tries "return <line>;" (the line is at the top). On success replaces the line by the
 * compiled function. */
static int addreturn(lua_State *L) {
  const char *line = lua_tostring(L, -1);
  const char *retline = lua_pushfstring(L, "return %s;", line);
  int status = luaL_loadbuffer(L, retline, strlen(retline), "=stdin");
  if (status == LUA_OK) {
    lua_remove(L, -2); /* the "return" line */
    saveline(line);
    lua_remove(L, -2); /* the line */
  } else {
    lua_pop(L, 2);
  }
  return status;
}

/* Compiles the statement at the top, reading continuation lines while it is incomplete. */
static int multiline(lua_State *L) {
  for (;;) {
    size_t len;
    const char *line = lua_tolstring(L, 1, &len);
    int status = luaL_loadbuffer(L, line, len, "=stdin");
    if (!incomplete(L, status)) {
      saveline(line);
      lua_remove(L, 1);
      return status;
    }
    int r = pushline(L, 0);
    if (r == LINE_INTERRUPTED) {
      lua_settop(L, 0);
      return STATUS_SKIP;
    }
    if (r == LINE_EOF) { /* report the incomplete chunk as the error it is */
      status = luaL_loadbuffer(L, line, len, "=stdin");
      saveline(line);
      lua_remove(L, 1);
      return status;
    }
    lua_pushliteral(L, "\n");
    lua_insert(L, -2);
    lua_concat(L, 3);
  }
}

/* Reads and compiles one input: the function (or the error message) is left on the stack.
 * Returns a load status, STATUS_NONE at end of input, STATUS_SKIP after Ctrl-C. */
static int loadline(lua_State *L) {
  lua_settop(L, 0);
  int r = pushline(L, 1);
  if (r == LINE_EOF) return STATUS_NONE;
  if (r == LINE_INTERRUPTED) return STATUS_SKIP;
  int status = addreturn(L);
  if (status != LUA_OK) status = multiline(L);
  return status;
}

/* Prints the values on the stack with the global print (tostring, tabs between). */
static void l_print(lua_State *L) {
  int n = lua_gettop(L);
  if (n > 0) {
    luaL_checkstack(L, LUA_MINSTACK, "too many results to print");
    lua_getglobal(L, "print");
    lua_insert(L, 1);
    if (lua_pcall(L, n, 0, 0) != LUA_OK) {
      fprintf(stderr, "error calling 'print' (%s)\n", lua_tostring(L, -1));
      lua_pop(L, 1);
    }
  }
}

/* ---- completion ------------------------------------------------------------------------- */

static const char *const lua_keywords[] = {
    "and", "break", "do", "else", "elseif", "end", "false", "for", "function", "goto", "if",
    "in", "local", "nil", "not", "or", "repeat", "return", "then", "true", "until", "while",
    NULL};

typedef struct {
  char **items;
  int n, cap;
  int kind; /* Lua type of the single match's value (for the character appended) */
} candidates;

static candidates cands;

static int is_identifier(const char *s) {
  if (!(*s == '_' || (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z'))) return 0;
  for (s++; *s; s++)
    if (!(*s == '_' || (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
          (*s >= '0' && *s <= '9')))
      return 0;
  return 1;
}

static void cand_add(const char *prefix, size_t plen, const char *name, int kind) {
  for (int i = 0; i < cands.n; i++)
    if (strcmp(cands.items[i] + plen, name) == 0) return;
  if (cands.n == cands.cap) {
    int cap = cands.cap ? 2 * cands.cap : 64;
    char **items = realloc(cands.items, (size_t)cap * sizeof *items);
    if (!items) return;
    cands.items = items;
    cands.cap = cap;
  }
  size_t nlen = strlen(name);
  char *s = malloc(plen + nlen + 1);
  if (!s) return;
  memcpy(s, prefix, plen);
  memcpy(s + plen, name, nlen + 1);
  cands.items[cands.n++] = s;
  cands.kind = kind;
}

static void cand_clear(void) {
  for (int i = 0; i < cands.n; i++) free(cands.items[i]);
  cands.n = 0;
  cands.kind = LUA_TNIL;
}

/* Adds the identifier keys of the table at idx that start with part (functions only when
 * methods_only); names starting with '_' only when part does. opaque: the values are not
 * what the field reads (getters behind a C __index), so nothing is appended after them. */
static void add_keys(lua_State *L, int idx, const char *prefix, size_t plen, const char *part,
                     int methods_only, int opaque) {
  idx = lua_absindex(L, idx);
  size_t partlen = strlen(part);
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    if (lua_type(L, -2) == LUA_TSTRING) {
      const char *k = lua_tostring(L, -2);
      int t = lua_type(L, -1);
      if (strncmp(k, part, partlen) == 0 && is_identifier(k) && (k[0] != '_' || part[0] == '_') &&
          (!methods_only || t == LUA_TFUNCTION))
        cand_add(prefix, plen, k, opaque ? LUA_TNIL : t);
    }
    lua_pop(L, 1);
  }
}

/* Fields visible through the value at idx: its own keys (tables), then along __index
 * tables; a C function __index (tensors) contributes the tables among its upvalues. */
static void add_fields(lua_State *L, int idx, const char *prefix, size_t plen, const char *part,
                       int methods_only) {
  idx = lua_absindex(L, idx);
  int top = lua_gettop(L);
  if (methods_only && luaL_testudata(L, idx, NL_TENSOR_MT)) { /* t:<TAB>: torch.Tensor */
    lua_settop(L, top);
    lua_getfield(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
    if (lua_getfield(L, -1, "torch") == LUA_TTABLE && lua_getfield(L, -1, "Tensor") == LUA_TTABLE) {
      add_keys(L, -1, prefix, plen, part, 1, 0);
      lua_settop(L, top);
      return;
    }
  }
  lua_settop(L, top);
  lua_pushvalue(L, idx);
  for (int depth = 0; depth < 16; depth++) {
    if (lua_istable(L, -1)) add_keys(L, -1, prefix, plen, part, methods_only, 0);
    if (!lua_getmetatable(L, -1)) break;
    int ty = lua_getfield(L, -1, "__index");
    if (ty == LUA_TTABLE) {
      lua_remove(L, -2); /* metatable */
      lua_remove(L, -2); /* previous value */
      continue;
    }
    if (ty == LUA_TFUNCTION && lua_iscfunction(L, -1)) {
      for (int u = 1; lua_getupvalue(L, -1, u) != NULL; u++) {
        if (lua_istable(L, -1)) add_keys(L, -1, prefix, plen, part, methods_only, !methods_only);
        lua_pop(L, 1);
      }
    }
    break;
  }
  lua_settop(L, top);
}

/* Pushes the value of a dotted path ("torch", "a.b.c") without running metamethods other
 * than following __index tables; returns 0 (nothing pushed) when it cannot be resolved. */
static int push_path(lua_State *L, const char *path, size_t len) {
  int base = lua_gettop(L);
  lua_pushglobaltable(L); /* base + 1: the current value */
  size_t i = 0;
  while (i < len) {
    size_t j = i;
    while (j < len && path[j] != '.') j++;
    lua_pushlstring(L, path + i, j - i); /* base + 2: the key */
    if (!is_identifier(lua_tostring(L, -1))) break;
    int found = 0;
    lua_pushvalue(L, base + 1);
    for (int depth = 0; depth < 16; depth++) {
      if (lua_istable(L, -1)) {
        lua_pushvalue(L, base + 2);
        if (lua_rawget(L, -2) != LUA_TNIL) { found = 1; break; }
        lua_pop(L, 1);
      }
      if (!lua_getmetatable(L, -1)) break;
      if (lua_getfield(L, -1, "__index") != LUA_TTABLE) break;
      lua_remove(L, -2); /* metatable */
      lua_remove(L, -2); /* previous object */
    }
    if (!found) break;
    lua_replace(L, base + 1);
    lua_settop(L, base + 1);
    i = j + 1;
  }
  if (i < len || lua_gettop(L) != base + 1) { lua_settop(L, base); return 0; }
  return 1;
}

static char *cand_generator(const char *text, int state) {
  static int next;
  (void)text;
  if (state == 0) next = 0;
  if (next < cands.n) {
    char *s = cands.items[next++];
    char *copy = malloc(strlen(s) + 1);
    if (copy) strcpy(copy, s);
    return copy;
  }
  return NULL;
}

static int cand_cmp(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Fills cands for the word text ("torch.ze", "t:si", "pri"); the stack is left as found. */
static void complete_word(lua_State *L, const char *text) {
  cand_clear();
  int top = lua_gettop(L);
  const char *sep = strpbrk(text, ".:") ? text + strlen(text) : NULL;
  while (sep && sep > text && sep[-1] != '.' && sep[-1] != ':') sep--;
  if (sep == NULL) { /* a global or a keyword */
    for (int i = 0; lua_keywords[i]; i++)
      if (strncmp(lua_keywords[i], text, strlen(text)) == 0) cand_add("", 0, lua_keywords[i], LUA_TNIL);
    lua_pushglobaltable(L);
    add_fields(L, -1, "", 0, text, 0);
  } else {
    size_t plen = (size_t)(sep - text); /* prefix including the separator */
    int methods = sep[-1] == ':';
    if (methods && memchr(text, ':', plen - 1)) { lua_settop(L, top); return; }
    if (push_path(L, text, plen - 1)) add_fields(L, -1, text, plen, sep, methods);
  }
  lua_settop(L, top);
  if (cands.n > 1) qsort(cands.items, (size_t)cands.n, sizeof *cands.items, cand_cmp);
}

static char **repl_complete(const char *text, int start, int end) {
  (void)start;
  (void)end;
  rl_attempted_completion_over = 1; /* never fall back to file names */
  complete_word(repl_L, text);
  if (cands.n == 0) return NULL;
  if (cands.n == 1) {
    rl_completion_append_character = cands.kind == LUA_TFUNCTION ? '('
                                      : cands.kind == LUA_TTABLE  ? '.'
                                                                  : '\0';
  } else {
    rl_completion_append_character = '\0';
  }
  return rl_completion_matches(text, cand_generator);
}

/* ---- the loop --------------------------------------------------------------------------- */

static void init_readline(void) {
  rl_readline_name = "nnlua";
  rl_attempted_completion_function = repl_complete;
  rl_basic_word_break_characters = " \t\n\"\\'`@$><=;|&{(,+-*/%^~#[]";
  rl_completer_word_break_characters = rl_basic_word_break_characters;
  using_history();
  const char *env = getenv("NNLUA_HISTORY");
  if (env) {
    history_path = *env ? strdup(env) : NULL;
  } else {
    const char *home = getenv("HOME");
    if (home && *home) {
      size_t n = strlen(home) + sizeof "/.nnlua_history";
      history_path = malloc(n);
      if (history_path) snprintf(history_path, n, "%s/.nnlua_history", home);
    }
  }
  if (history_path) {
    read_history(history_path);
    FILE *f = fopen(history_path, "a"); /* append_history needs the file to exist */
    if (f) fclose(f);
    else { free(history_path); history_path = NULL; }
  }
}

static void done_readline(void) {
  if (history_path) {
    history_truncate_file(history_path, 1000);
    free(history_path);
    history_path = NULL;
  }
  cand_clear();
  free(cands.items);
  cands.items = NULL;
  cands.cap = 0;
}

void repl_run(lua_State *L) {
  repl_L = L;
  repl_tty = isatty(STDIN_FILENO);
  if (repl_tty) init_readline();
  host_set_interactive(1);
  int status;
  while ((status = loadline(L)) != STATUS_NONE) {
    if (status == STATUS_SKIP) continue;
    if (status == LUA_OK) status = host_docall(L, 0, LUA_MULTRET);
    if (status == LUA_OK) l_print(L);
    else host_report(L, status);
  }
  lua_settop(L, 0);
  fputs("\n", stdout);
  fflush(stdout);
  host_set_interactive(0);
  if (repl_tty) done_readline();
}
