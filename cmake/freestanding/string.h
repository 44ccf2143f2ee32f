/* <string.h> for the freestanding kernel bitcode (see math.h here): the mem* and str*
 * functions the kernels use, as clang builtins (calls of the same names, or inline code). */
#ifndef EMBER_FREESTANDING_STRING_H
#define EMBER_FREESTANDING_STRING_H
#include <stddef.h>

#define memcpy(d, s, n) __builtin_memcpy((d), (s), (n))
#define memmove(d, s, n) __builtin_memmove((d), (s), (n))
#define memset(d, c, n) __builtin_memset((d), (c), (n))
#define memcmp(a, b, n) __builtin_memcmp((a), (b), (n))
#define strcmp(a, b) __builtin_strcmp((a), (b))
#define strlen(s) __builtin_strlen(s)
#endif
