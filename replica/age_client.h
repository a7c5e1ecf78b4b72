/*
 * age_client: client-side encryption of a replica, as Litestream v0.3.13's
 * age: block does it (format doc §1.5): a replica client wrapped so that
 * every object it writes is age(bytes) and every object it reads is
 * decrypted, under the same names. The layers compose: upload code writes
 * LZ4 frames into the writer as before, restore reads LZ4 frames from the
 * reader as before.
 *
 * Keys: recipients (age.recipients; with none, the public keys of the
 * identities) for writing; identities (age.identities, then the key file
 * age.identity-file) for reading. Identities are loaded on the first read
 * (or the first write that needs them), so a process that only lists
 * objects never holds a secret; they are wiped when the client is freed.
 */
#ifndef WALSHIP_AGE_CLIENT_H
#define WALSHIP_AGE_CLIENT_H

#include <stdbool.h>
#include <stddef.h>

struct age_keys;
struct cfg_replica;
struct replica_client;

/* Whether R has an age: block with any key in it. */
bool replica_age_enabled(const struct cfg_replica *r);

/*
 * R's keys into K (zeroed first): recipients and, if WITH_IDENTITIES, the
 * identities and the key file's. Recipients are filled from the
 * identities when R lists none. 0, or -1 with ERR (never quoting a key).
 */
int replica_age_keys(const struct cfg_replica *r, bool with_identities,
    struct age_keys *k, char *err, size_t errlen);

/*
 * Reads R's age.identity-file now, while the process may still read it
 * (before it drops privileges and confines itself): its identities join
 * R's age.identities and the file is forgotten. 0 (also when R has no
 * file), or -1 with ERR naming the file and the line.
 */
int replica_age_inline_identity_file(struct cfg_replica *r, char *err,
    size_t errlen);

/*
 * INNER wrapped with R's age keys; the wrapper owns INNER (freed with it,
 * and on failure). R must outlive the wrapper. NULL with ERR.
 */
struct replica_client *age_client_wrap(struct replica_client *inner,
    const struct cfg_replica *r, char *err, size_t errlen);

#endif
