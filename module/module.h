/*
 * module: the code that needs libcurl, OpenSSL or expat (S3 replicas, age
 * encryption, SHA-256), built as walship-module.so beside the binary and
 * loaded by a process the first time it needs it.
 *
 * Why: linking those libraries costs every process that maps them about
 * 6 MB of resident memory before it does anything (their own dependencies,
 * relocations and constructors: GnuTLS, Kerberos, LDAP, p11-kit through
 * libcurl), and walship runs a supervisor, a walreader per database, an
 * uploader per replica and a compactor. With the module, a tree of
 * directory replicas never maps them, and a tree with S3 replicas maps them
 * in its S3 uploaders and compactor only.
 *
 * How: the binary is linked with -rdynamic, so the module uses the binary's
 * own logging, layout and upload code; the module's symbols are hidden but
 * for one table, walship_module_ops, whose entries the binary reaches
 * through same-named forwarding functions (module_load.c), so callers are
 * unchanged. The unit tests link the module's objects directly.
 *
 * Sandboxed roles load it before they confine themselves (module_preload):
 * afterwards they may not read it.
 */
#ifndef WALSHIP_MODULE_H
#define WALSHIP_MODULE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MODULE_FILE "walship-module.so"
#define MODULE_OPS_SYMBOL "walship_module_ops"
/* Raised whenever struct module_ops changes: a module from another build
 * is refused, not called. */
#define MODULE_ABI 1

struct cfg;
struct cfg_replica;
struct replica_client;
struct replica_obj;
struct position;
struct upl;
struct upl_step;
struct s3client_stats;
enum upl_fault;

struct module_ops {
	int abi;
	struct replica_client *(*s3_replica_new)(const struct cfg_replica *r,
	    char *err, size_t errlen);
	struct replica_client *(*age_client_wrap)(struct replica_client *inner,
	    const struct cfg_replica *r, char *err, size_t errlen);
	int (*replica_age_inline_identity_file)(struct cfg_replica *r,
	    char *err, size_t errlen);
	int (*upl_s3_open)(struct upl *u, char *err, size_t errlen);
	void (*upl_s3_close)(struct upl *u);
	int (*upl_s3_put)(struct upl *u, const struct upl_step *s,
	    enum upl_fault *fault, char *err, size_t errlen);
	int (*upl_s3_find_position)(struct upl *u, const char *gen,
	    const struct position *file, char *err, size_t errlen);
	const char *(*upl_s3_obj_name)(const struct upl *u,
	    const struct replica_obj *o, char *buf, size_t len);
	const struct s3client_stats *(*upl_s3_stats)(const struct upl *u);
	void (*digest_sha256)(const void *data, size_t len, uint8_t out[32]);
};

/* SHA-256 of DATA (module/sha256.c; the binary forwards to the module). */
void digest_sha256(const void *data, size_t len, uint8_t out[32]);

/*
 * Loads the module now if this process will need it: for REP, when it is
 * an S3 or age replica; without REP, when any replica of CFG is. 0, or -1
 * (logged: where it looked and why it failed).
 */
int module_preload(const struct cfg *cfg, const struct cfg_replica *rep);

#endif
