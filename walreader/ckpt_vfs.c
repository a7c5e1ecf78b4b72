/*
 * ckpt_vfs: see ckpt_vfs.h. Every method forwards to the default VFS's file;
 * only xShmLock looks at what it forwards. Lock slot 0 of the wal-index is
 * SQLite's WAL_WRITE_LOCK (wal.c); a checkpoint in FULL, RESTART or TRUNCATE
 * mode takes it exclusively before reading the wal-index header. Slots 3 to
 * 7 are WAL_READ_LOCK(0..4); a read transaction holds one of them shared
 * from its start to its end.
 */
#include "ckpt_vfs.h"

#include <sqlite3.h>
#include <stddef.h>
#include <string.h>

#define WAL_WRITE_LOCK_SLOT 0
#define WAL_READ_LOCK_SLOT0 3
#define WAL_NREADER 5

struct ckpt_file {
	sqlite3_file base;
	sqlite3_file *real; /* follows this struct in the same allocation */
	int read_lock;      /* WAL_READ_LOCK held shared, -1 for none */
};

static sqlite3_vfs ckpt_vfs;
static sqlite3_vfs *real_vfs;
static const struct ckpt_vfs_hooks *armed;

#define REAL(f) (((struct ckpt_file *)(f))->real)

static int
x_close(sqlite3_file *f)
{
	return REAL(f)->pMethods->xClose(REAL(f));
}

static int
x_read(sqlite3_file *f, void *buf, int n, sqlite3_int64 off)
{
	return REAL(f)->pMethods->xRead(REAL(f), buf, n, off);
}

static int
x_write(sqlite3_file *f, const void *buf, int n, sqlite3_int64 off)
{
	return REAL(f)->pMethods->xWrite(REAL(f), buf, n, off);
}

static int
x_truncate(sqlite3_file *f, sqlite3_int64 size)
{
	return REAL(f)->pMethods->xTruncate(REAL(f), size);
}

static int
x_sync(sqlite3_file *f, int flags)
{
	return REAL(f)->pMethods->xSync(REAL(f), flags);
}

static int
x_file_size(sqlite3_file *f, sqlite3_int64 *size)
{
	return REAL(f)->pMethods->xFileSize(REAL(f), size);
}

static int
x_lock(sqlite3_file *f, int lock)
{
	return REAL(f)->pMethods->xLock(REAL(f), lock);
}

static int
x_unlock(sqlite3_file *f, int lock)
{
	return REAL(f)->pMethods->xUnlock(REAL(f), lock);
}

static int
x_check_reserved(sqlite3_file *f, int *out)
{
	return REAL(f)->pMethods->xCheckReservedLock(REAL(f), out);
}

static int
x_file_control(sqlite3_file *f, int op, void *arg)
{
	return REAL(f)->pMethods->xFileControl(REAL(f), op, arg);
}

static int
x_sector_size(sqlite3_file *f)
{
	return REAL(f)->pMethods->xSectorSize(REAL(f));
}

static int
x_device_characteristics(sqlite3_file *f)
{
	return REAL(f)->pMethods->xDeviceCharacteristics(REAL(f));
}

static int
x_shm_map(sqlite3_file *f, int pg, int pgsz, int extend, void volatile **pp)
{
	return REAL(f)->pMethods->xShmMap(REAL(f), pg, pgsz, extend, pp);
}

/* Follows the one read lock a read transaction holds shared. */
static void
track_read_lock(struct ckpt_file *cf, int offset, int n, int flags)
{
	int i = offset - WAL_READ_LOCK_SLOT0;
	if (n != 1 || i < 0 || i >= WAL_NREADER || !(flags & SQLITE_SHM_SHARED))
		return;
	if (flags & SQLITE_SHM_LOCK)
		cf->read_lock = i;
	else if (cf->read_lock == i)
		cf->read_lock = -1;
}

static int
x_shm_lock(sqlite3_file *f, int offset, int n, int flags)
{
	int rc = REAL(f)->pMethods->xShmLock(REAL(f), offset, n, flags);
	const struct ckpt_vfs_hooks *h = armed;

	if (rc == SQLITE_OK)
		track_read_lock((struct ckpt_file *)f, offset, n, flags);

	if (rc != SQLITE_OK || h == NULL || offset != WAL_WRITE_LOCK_SLOT)
		return rc;
	if ((flags & SQLITE_SHM_LOCK) && (flags & SQLITE_SHM_EXCLUSIVE)) {
		if (h->write_locked)
			h->write_locked(h->arg);
	} else if (flags & SQLITE_SHM_UNLOCK) {
		if (h->write_unlocked)
			h->write_unlocked(h->arg);
	}
	return rc;
}

static void
x_shm_barrier(sqlite3_file *f)
{
	REAL(f)->pMethods->xShmBarrier(REAL(f));
}

static int
x_shm_unmap(sqlite3_file *f, int del)
{
	return REAL(f)->pMethods->xShmUnmap(REAL(f), del);
}

static int
x_fetch(sqlite3_file *f, sqlite3_int64 off, int n, void **pp)
{
	return REAL(f)->pMethods->xFetch(REAL(f), off, n, pp);
}

static int
x_unfetch(sqlite3_file *f, sqlite3_int64 off, void *p)
{
	return REAL(f)->pMethods->xUnfetch(REAL(f), off, p);
}

static const sqlite3_io_methods ckpt_io = {
	.iVersion = 3,
	.xClose = x_close,
	.xRead = x_read,
	.xWrite = x_write,
	.xTruncate = x_truncate,
	.xSync = x_sync,
	.xFileSize = x_file_size,
	.xLock = x_lock,
	.xUnlock = x_unlock,
	.xCheckReservedLock = x_check_reserved,
	.xFileControl = x_file_control,
	.xSectorSize = x_sector_size,
	.xDeviceCharacteristics = x_device_characteristics,
	.xShmMap = x_shm_map,
	.xShmLock = x_shm_lock,
	.xShmBarrier = x_shm_barrier,
	.xShmUnmap = x_shm_unmap,
	.xFetch = x_fetch,
	.xUnfetch = x_unfetch,
};

static int
x_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *f, int flags,
    int *out)
{
	struct ckpt_file *cf = (struct ckpt_file *)f;
	(void)vfs;

	cf->real = (sqlite3_file *)(cf + 1);
	cf->read_lock = -1;
	int rc = real_vfs->xOpen(real_vfs, name, cf->real, flags, out);
	/* The unix VFS's files are version 3; anything older would need
	 * the optional methods left out, which we do not expect here. */
	if (cf->real->pMethods && cf->real->pMethods->iVersion < 3)
		return SQLITE_CANTOPEN;
	cf->base.pMethods = cf->real->pMethods ? &ckpt_io : NULL;
	return rc;
}

int
ckpt_vfs_register(void)
{
	if (real_vfs)
		return SQLITE_OK;
	real_vfs = sqlite3_vfs_find(NULL);
	if (real_vfs == NULL)
		return SQLITE_ERROR;
	ckpt_vfs = *real_vfs;
	ckpt_vfs.zName = CKPT_VFS_NAME;
	ckpt_vfs.szOsFile = (int)sizeof(struct ckpt_file) + real_vfs->szOsFile;
	ckpt_vfs.xOpen = x_open;
	ckpt_vfs.pNext = NULL;
	return sqlite3_vfs_register(&ckpt_vfs, 0);
}

void
ckpt_vfs_arm(const struct ckpt_vfs_hooks *hooks)
{
	armed = hooks;
}

int
ckpt_vfs_read_lock(sqlite3 *db)
{
	sqlite3_file *f = NULL;
	if (sqlite3_file_control(db, "main", SQLITE_FCNTL_FILE_POINTER, &f) !=
	    SQLITE_OK || f == NULL || f->pMethods != &ckpt_io)
		return -1;
	return ((struct ckpt_file *)f)->read_lock;
}
