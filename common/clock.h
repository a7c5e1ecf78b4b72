/*
 * clock: the two clocks every role reads, in nanoseconds. Monotonic for
 * intervals and deadlines (never jumps), wall for what is shown to people
 * or compared with object times.
 */
#ifndef WALSHIP_CLOCK_H
#define WALSHIP_CLOCK_H

#include <stdint.h>

int64_t clock_mono_ns(void);
int64_t clock_wall_ns(void);

#endif
