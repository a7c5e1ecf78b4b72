/*
 * The pure parts of S3 requests: addressing (s3/s3addr.c), retry and
 * multipart decisions (s3/s3policy.c) and body digests (s3/s3hash.c).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "s3addr.h"
#include "s3hash.h"
#include "s3policy.h"
#include "test.h"

TEST(addr_path_style)
{
	struct s3addr a;
	char buf[512], err[128];

	ASSERT_INT_EQ(s3addr_init(&a, "http://127.0.0.1:9000", "", "bkt", true,
	    err, sizeof(err)), 0);
	ASSERT_STR_EQ(a.region, "us-east-1");
	ASSERT_INT_EQ(a.port, 9000);
	ASSERT(a.path_style);
	ASSERT_INT_EQ(s3addr_host(&a, buf, sizeof(buf)), 0);
	ASSERT_STR_EQ(buf, "127.0.0.1:9000");
	ASSERT_INT_EQ(s3addr_url(&a, "db/generations/x y+z", "a=b", buf,
	    sizeof(buf)), 0);
	ASSERT_STR_EQ(buf, "http://127.0.0.1:9000/bkt/db/generations/x%20y%2Bz"
	    "?a=b");
	ASSERT_INT_EQ(s3addr_path(&a, "", buf, sizeof(buf)), 0);
	ASSERT_STR_EQ(buf, "/bkt/");
	/* A bucket that cannot be a host name forces path style. */
	ASSERT_INT_EQ(s3addr_init(&a, "https://s3.example.com/", "eu-1",
	    "My_Bucket", false, err, sizeof(err)), 0);
	ASSERT(a.path_style);
	ASSERT_INT_EQ(s3addr_url(&a, "k", NULL, buf, sizeof(buf)), 0);
	ASSERT_STR_EQ(buf, "https://s3.example.com/My_Bucket/k");
}

TEST(addr_virtual_hosted)
{
	struct s3addr a;
	char buf[512], err[128];

	/* AWS: no endpoint. */
	ASSERT_INT_EQ(s3addr_init(&a, "", "eu-west-3", "my-bucket", false, err,
	    sizeof(err)), 0);
	ASSERT(!a.path_style);
	ASSERT_INT_EQ(s3addr_url(&a, "a/b", "list-type=2", buf, sizeof(buf)),
	    0);
	ASSERT_STR_EQ(buf, "https://my-bucket.s3.eu-west-3.amazonaws.com/a/b"
	    "?list-type=2");
	ASSERT_INT_EQ(s3addr_init(&a, NULL, NULL, "my-bucket", false, err,
	    sizeof(err)), 0);
	ASSERT_STR_EQ(a.host, "s3.us-east-1.amazonaws.com");
	/* An endpoint, virtual-hosted. */
	ASSERT_INT_EQ(s3addr_init(&a, "https://fsn1.your-objectstorage.com",
	    "fsn1", "b.dots", false, err, sizeof(err)), 0);
	ASSERT_INT_EQ(s3addr_host(&a, buf, sizeof(buf)), 0);
	ASSERT_STR_EQ(buf, "b.dots.fsn1.your-objectstorage.com");
	ASSERT_INT_EQ(s3addr_path(&a, "k", buf, sizeof(buf)), 0);
	ASSERT_STR_EQ(buf, "/k");
	ASSERT_INT_EQ(s3addr_init(&a, "http://[::1]:8080", "", "bb1", false,
	    err, sizeof(err)), 0);
	ASSERT_STR_EQ(a.host, "[::1]");
	ASSERT_INT_EQ(a.port, 8080);
}

TEST(addr_bad_input)
{
	struct s3addr a;
	char err[128];

	ASSERT_INT_EQ(s3addr_init(&a, "127.0.0.1:9000", "", "b", true, err,
	    sizeof(err)), -1);
	ASSERT(strstr(err, "http://") != NULL);
	ASSERT_INT_EQ(s3addr_init(&a, "http://h/path", "", "b", true, err,
	    sizeof(err)), -1);
	ASSERT(strstr(err, "path") != NULL);
	ASSERT_INT_EQ(s3addr_init(&a, "http://h:99999", "", "b", true, err,
	    sizeof(err)), -1);
	ASSERT_INT_EQ(s3addr_init(&a, "http://h:", "", "b", true, err,
	    sizeof(err)), -1);
	ASSERT_INT_EQ(s3addr_init(&a, "http://", "", "b", true, err,
	    sizeof(err)), -1);
	ASSERT_INT_EQ(s3addr_init(&a, "http://h", "", "", true, err,
	    sizeof(err)), -1);
	ASSERT_INT_EQ(s3addr_init(&a, "http://h", "", "a/b", true, err,
	    sizeof(err)), -1);
	ASSERT_INT_EQ(s3addr_init(&a, "http://h", "US East", "b", true, err,
	    sizeof(err)), -1);
	ASSERT_INT_EQ(errno, EINVAL);
}

TEST(keys)
{
	char k[S3ADDR_MAX_KEY + 8];

	ASSERT_INT_EQ(s3addr_key("db", "generations/x", k, sizeof(k)), 0);
	ASSERT_STR_EQ(k, "db/generations/x");
	ASSERT_INT_EQ(s3addr_key("", "/generations//x", k, sizeof(k)), 0);
	ASSERT_STR_EQ(k, "generations/x");
	ASSERT_INT_EQ(s3addr_key("a/b", "//generations/", k, sizeof(k)), 0);
	ASSERT_STR_EQ(k, "a/b/generations/");
	ASSERT_INT_EQ(s3addr_key("/lead//db/", "k", k, sizeof(k)), 0);
	ASSERT_STR_EQ(k, "lead/db/k");
	ASSERT_INT_EQ(s3addr_key("a/b", "", k, sizeof(k)), 0);
	ASSERT_STR_EQ(k, "a/b");
	ASSERT_INT_EQ(s3addr_key("", "", k, sizeof(k)), 0);
	ASSERT_STR_EQ(k, "");
	ASSERT_INT_EQ(s3addr_key("", "///", k, sizeof(k)), 0);
	ASSERT_STR_EQ(k, "");
	ASSERT_INT_EQ(s3addr_key("p", "x", k, 3), -1);
	ASSERT_INT_EQ(errno, ENAMETOOLONG);
	{
		char big[S3ADDR_MAX_KEY + 2];

		memset(big, 'k', sizeof(big) - 1);
		big[sizeof(big) - 1] = '\0';
		ASSERT_INT_EQ(s3addr_key("", big, k, sizeof(k)), -1);
		ASSERT_INT_EQ(errno, EINVAL);
	}
}

TEST(query)
{
	struct s3addr_param p[] = {
		{ "prefix", "db/generations/" }, { "list-type", "2" },
		{ "delimiter", "/" }, { "continuation-token", "a+b=/c" },
		{ "uploads", NULL },
	};
	char q[512];

	ASSERT_INT_EQ(s3addr_query(p, 5, q, sizeof(q)), 0);
	ASSERT_STR_EQ(q, "continuation-token=a%2Bb%3D%2Fc&delimiter=%2F&"
	    "list-type=2&prefix=db%2Fgenerations%2F&uploads=");
	ASSERT_INT_EQ(s3addr_query(p, 0, q, sizeof(q)), 0);
	ASSERT_STR_EQ(q, "");
	ASSERT_INT_EQ(s3addr_query(p, 5, q, 20), -1);
	ASSERT_INT_EQ(errno, ENAMETOOLONG);
	{
		/* Same names sort by value. */
		struct s3addr_param d[] = { { "a", "2" }, { "a", "1" } };

		ASSERT_INT_EQ(s3addr_query(d, 2, q, sizeof(q)), 0);
		ASSERT_STR_EQ(q, "a=1&a=2");
	}
}

static const struct s3policy_retry policy = {
	.max_attempts = 5, .max_total_ms = 60000, .base_ms = 200,
	.cap_ms = 10000,
};

TEST(retry_classification)
{
	ASSERT(s3policy_retryable(S3POLICY_NET_RETRY, 0, NULL));
	ASSERT(!s3policy_retryable(S3POLICY_NET_FATAL, 0, NULL));
	ASSERT(!s3policy_retryable(S3POLICY_NET_ABORTED, 0, NULL));
	ASSERT(s3policy_retryable(S3POLICY_NET_OK, 500, "InternalError"));
	ASSERT(s3policy_retryable(S3POLICY_NET_OK, 502, ""));
	ASSERT(s3policy_retryable(S3POLICY_NET_OK, 503, "SlowDown"));
	ASSERT(s3policy_retryable(S3POLICY_NET_OK, 429, NULL));
	ASSERT(s3policy_retryable(S3POLICY_NET_OK, 400, "RequestTimeout"));
	ASSERT(s3policy_retryable(S3POLICY_NET_OK, 200, "InternalError"));
	ASSERT(!s3policy_retryable(S3POLICY_NET_OK, 403,
	    "SignatureDoesNotMatch"));
	ASSERT(!s3policy_retryable(S3POLICY_NET_OK, 403, "AccessDenied"));
	ASSERT(!s3policy_retryable(S3POLICY_NET_OK, 404, "NoSuchBucket"));
	ASSERT(!s3policy_retryable(S3POLICY_NET_OK, 400, "BadDigest"));
	ASSERT(!s3policy_retryable(S3POLICY_NET_OK, 501, ""));
	ASSERT(!s3policy_retryable(S3POLICY_NET_OK, 400, "NotImplemented"));
}

TEST(backoff_bounds)
{
	/* The ceiling doubles from base and stops at cap. */
	uint64_t want[] = { 200, 400, 800, 1600, 3200, 6400, 10000, 10000 };

	for (unsigned r = 1; r <= 8; r++) {
		ASSERT_INT_EQ(s3policy_backoff_ms(&policy, r, want[r - 1]),
		    want[r - 1]);
		ASSERT_INT_EQ(s3policy_backoff_ms(&policy, r, 0), 0);
		for (uint64_t rnd = 0; rnd < 100000; rnd += 7919)
			ASSERT(s3policy_backoff_ms(&policy, r, rnd) <=
			    want[r - 1]);
	}
	ASSERT(s3policy_backoff_ms(&policy, 1000, 123456789) <= 10000);
}

TEST(retry_budget)
{
	uint64_t d = 0;
	unsigned allowed = 0;

	for (unsigned a = 1; a < 10; a++)
		if (s3policy_next_retry(&policy, a, 0, 12345, &d))
			allowed++;
	ASSERT_INT_EQ(allowed, 4);	/* 5 attempts in all */
	ASSERT(!s3policy_next_retry(&policy, 1, 60000, 0, &d));
	/* A wait that would overrun the total is refused. */
	ASSERT(!s3policy_next_retry(&policy, 4, 59000, 1500, &d));
	ASSERT(s3policy_next_retry(&policy, 4, 59000, 999, &d));
	ASSERT_INT_EQ(d, 999);
}

TEST(parts)
{
	struct s3policy_parts p;
	uint64_t mib = S3POLICY_MIB, sum = 0;

	ASSERT_INT_EQ(s3policy_plan_parts(0, 5 * mib, 5 * mib, &p), 0);
	ASSERT(!p.multipart);
	ASSERT_INT_EQ(p.nparts, 1);
	ASSERT_INT_EQ(s3policy_plan_parts(5 * mib, 5 * mib, 5 * mib, &p), 0);
	ASSERT(!p.multipart);
	ASSERT_INT_EQ(s3policy_plan_parts(12 * mib, 5 * mib, 5 * mib, &p), 0);
	ASSERT(p.multipart);
	ASSERT_INT_EQ(p.nparts, 3);
	ASSERT_INT_EQ(s3policy_part_offset(&p, 3), 10 * mib);
	ASSERT_INT_EQ(s3policy_part_len(&p, 3), 2 * mib);
	ASSERT_INT_EQ(s3policy_part_len(&p, 4), 0);
	for (unsigned n = 1; n <= p.nparts; n++)
		sum += s3policy_part_len(&p, n);
	ASSERT_INT_EQ(sum, 12 * mib);
	/* Too small a part size is raised to S3's minimum. */
	ASSERT_INT_EQ(s3policy_plan_parts(6 * mib, 1, 1, &p), 0);
	ASSERT_INT_EQ(p.part_size, 5 * mib);
	ASSERT_INT_EQ(p.nparts, 2);
	/* 100 GiB in 5 MiB parts is over 10000 parts: parts grow. */
	ASSERT_INT_EQ(s3policy_plan_parts(100ULL * 1024 * mib, 5 * mib,
	    5 * mib, &p), 0);
	ASSERT(p.nparts <= S3POLICY_MAX_PARTS);
	ASSERT_INT_EQ(p.part_size % mib, 0);
	ASSERT_INT_EQ(p.part_size, 11 * mib);
	ASSERT_INT_EQ(s3policy_plan_parts(S3POLICY_MAX_OBJECT + 1, 0, 0, &p),
	    -1);
	ASSERT_INT_EQ(errno, EFBIG);
}

TEST(hashes)
{
	struct s3hash h;

	ASSERT_INT_EQ(s3hash_body("", 0, &h), 0);
	ASSERT_STR_EQ(h.md5_b64, "1B2M2Y8AsgTpgAmY7PhCfg==");
	ASSERT_STR_EQ(h.sha256_hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4"
	    "649b934ca495991b7852b855");
	ASSERT_INT_EQ(s3hash_body("hello", 5, &h), 0);
	ASSERT_STR_EQ(h.md5_b64, "XUFAKrxLKna5cZ2REBfFkg==");
	ASSERT_STR_EQ(h.sha256_hex, "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c"
	    "1fa7425e73043362938b9824");
}

int
main(void)
{
	RUN(addr_path_style);
	RUN(addr_virtual_hosted);
	RUN(addr_bad_input);
	RUN(keys);
	RUN(query);
	RUN(retry_classification);
	RUN(backoff_bounds);
	RUN(retry_budget);
	RUN(parts);
	RUN(hashes);
	return TEST_DONE();
}
