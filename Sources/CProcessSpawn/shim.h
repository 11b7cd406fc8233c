#ifndef SWPCS_CPROCESSSPAWN_SHIM_H
#define SWPCS_CPROCESSSPAWN_SHIM_H
// Linux process primitives the Swift Glibc module does not expose: pidfds (glibc >= 2.36) and the
// posix_spawn file actions that close inherited descriptors and set the working directory
// (glibc >= 2.34 / 2.29, declared in <spawn.h> only under __USE_MISC), and pipe2 (_GNU_SOURCE).
#include <spawn.h>
#include <sys/pidfd.h>

extern int posix_spawn_file_actions_addclosefrom_np(posix_spawn_file_actions_t *actions, int from);
extern int pipe2(int pipefd[2], int flags);
extern int posix_spawn_file_actions_addchdir_np(posix_spawn_file_actions_t *actions, const char *path);
#endif
