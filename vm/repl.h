/* repl.h: the interactive loop of the nnlua host (repl.c, linked into the executable only).
 * main.c provides the call and report helpers it shares with the command line. */
#ifndef NNLUA_REPL_H
#define NNLUA_REPL_H

#include <lua.h>

/* Reads, evaluates and prints until end of input. With stdin a terminal it uses GNU readline
 * (history in $NNLUA_HISTORY or ~/.nnlua_history, completion of globals, fields and methods,
 * Ctrl-C drops the line being typed); otherwise it reads plain lines. */
void repl_run(lua_State *L);

/* main.c: lua_pcall with the traceback handler and Ctrl-C armed (function under narg args). */
int host_docall(lua_State *L, int narg, int nres);
/* main.c: prints the error at the top of the stack (when status != LUA_OK) and pops it. */
int host_report(lua_State *L, int status);
/* main.c: on = errors without the "nnlua: " prefix (interactive mode). */
void host_set_interactive(int on);

#endif
