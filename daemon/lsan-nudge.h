#ifndef SBD_LSAN_NUDGE_H
#define SBD_LSAN_NUDGE_H

/* In sanitizer builds, arranges for a watchdog at exit that unsticks
 * LeakSanitizer's leak check when the kernel loses its attach stop
 * (lsan-nudge.c); does nothing otherwise. Call once, early in main. */
void lsan_nudge_at_exit(void);

/* Starts the watchdog now (the tests use it on a staged lost stop). */
void lsan_nudge_start(void);

#endif
