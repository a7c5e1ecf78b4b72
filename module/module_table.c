/*
 * module_table: the one symbol walship-module.so exports (module.h).
 */
#include "age_client.h"
#include "module.h"
#include "s3_replica.h"
#include "upl.h"

__attribute__((visibility("default")))
const struct module_ops walship_module_ops = {
	.abi = MODULE_ABI,
	.s3_replica_new = s3_replica_new,
	.age_client_wrap = age_client_wrap,
	.replica_age_inline_identity_file = replica_age_inline_identity_file,
	.upl_s3_open = upl_s3_open,
	.upl_s3_close = upl_s3_close,
	.upl_s3_put = upl_s3_put,
	.upl_s3_find_position = upl_s3_find_position,
	.upl_s3_obj_name = upl_s3_obj_name,
	.upl_s3_stats = upl_s3_stats,
	.digest_sha256 = digest_sha256,
};
