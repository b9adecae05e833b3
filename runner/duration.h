/*
 * duration.h: durations as written in DAG files: "30s", "5m", "15h", "2d",
 * combinations such as "1h30m", and plain integers (seconds).
 */
#ifndef STA_DURATION_H
#define STA_DURATION_H

#include <stddef.h>
#include <stdint.h>

/* Parses s into seconds.  Returns 0, or -1 with a one-line reason in err
 * (errlen bytes) naming what is wrong ("unknown unit 'x'", "empty", ...). */
int duration_parse(const char *s, int64_t *seconds, char *err, size_t errlen);
/* Writes the shortest form ("1h30m", "0s") into out. */
void duration_format(int64_t seconds, char *out, size_t outlen);

#endif
