/*
 * banned.h - calls sbx code must not use (after git's banned.h).
 *
 * Included last by every sbx source file, after the system and library
 * headers, so a use of one of these fails to compile with a name that
 * says why.
 * Use snprintf/sbx_buf instead of sprintf/strcpy/strcat, the checked
 * parsers in core/parse.h instead of atoi, sbx_run (core/run.h) instead
 * of system/popen, and strtok_r where a tokenizer is really needed.
 */
#ifndef SBX_CORE_BANNED_H
#define SBX_CORE_BANNED_H

#define BANNED(func) sorry_##func##_is_a_banned_function

#undef strcpy
#define strcpy(x, y) BANNED(strcpy)
#undef strcat
#define strcat(x, y) BANNED(strcat)
#undef sprintf
#define sprintf(...) BANNED(sprintf)
#undef vsprintf
#define vsprintf(...) BANNED(vsprintf)
#undef strtok
#define strtok(x, y) BANNED(strtok)
#undef gets
#define gets(x) BANNED(gets)
#undef atoi
#define atoi(x) BANNED(atoi)
#undef system
#define system(x) BANNED(system)
#undef popen
#define popen(x, y) BANNED(popen)

#endif
