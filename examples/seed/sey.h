/*
 * sey.h - what the SEY driver's files share.
 */
#ifndef SEED_SEY_H
#define SEED_SEY_H

#include <stddef.h>
#include <stdint.h>

/* The driver's entry and unload routines (host_api.h names them). */
int sey_driver_entry(void);
void sey_driver_unload(void);

/*
 * procpath.c: copies the full image path of process pid, with its NUL, into
 * buf of len bytes.  0, or a negative errno: -ENOENT (no such process),
 * -EACCES (no handle), -ENAMETOOLONG (buf too small), -EIO (query failed).
 */
int get_process_image_path(uint64_t pid, char *buf, size_t len);

#endif /* SEED_SEY_H */
