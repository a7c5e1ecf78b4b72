/* Litestream-style text and JSON lines of common/log.c. */
#include <errno.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "test.h"

static char out[4096];

/* Runs one log call into a temporary file and reads the line back. */
#define CAPTURE(call) do { \
	FILE *f_ = tmpfile(); \
	log_init(LOG_LEVEL_DEBUG, fmt_, f_); \
	call; \
	rewind(f_); \
	size_t n_ = fread(out, 1, sizeof(out) - 1, f_); \
	out[n_] = '\0'; \
	fclose(f_); \
	log_init(LOG_LEVEL_INFO, LOG_FORMAT_TEXT, stdout); \
} while (0)

static enum log_format fmt_;

static int
matches(const char *re, const char *s)
{
	regex_t r;
	if (regcomp(&r, re, REG_EXTENDED | REG_NOSUB) != 0)
		return 0;
	int ok = regexec(&r, s, 0, NULL, 0) == 0;
	regfree(&r);
	return ok;
}

TEST(text_line)
{
	fmt_ = LOG_FORMAT_TEXT;
	CAPTURE(log_info("initialized db", KV_S("path", "/data/app.db"),
	    KV_I("n", -3), KV_U("sz", 4152)));
	ASSERT(matches("^time=[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:"
	    "[0-9]{2}\\.[0-9]{3}Z level=INFO msg=\"initialized db\" "
	    "path=/data/app.db n=-3 sz=4152\n$", out));
}

TEST(text_quoting)
{
	fmt_ = LOG_FORMAT_TEXT;
	CAPTURE(log_warn("x", KV_S("a", ""), KV_S("b", "k=v"),
	    KV_S("c", "say \"hi\"\n")));
	ASSERT(strstr(out, " msg=x a=\"\" b=\"k=v\" c=\"say \\\"hi\\\"\\n\"\n"));
	ASSERT(strstr(out, "level=WARN"));
	CAPTURE(log_info("x", KV_S("elapsed", "538.803\xc2\xb5s")));
	ASSERT(strstr(out, " elapsed=538.803\xc2\xb5s\n"));
}

TEST(json_line)
{
	fmt_ = LOG_FORMAT_JSON;
	CAPTURE(log_error("failed to run", KV_S("error", "a\tb"),
	    KV_I("n", 7)));
	ASSERT(matches("^\\{\"time\":\"[^\"]+Z\",\"level\":\"ERROR\","
	    "\"msg\":\"failed to run\",\"error\":\"a\\\\tb\",\"n\":7\\}\n$",
	    out));
}

TEST(role_and_db)
{
	fmt_ = LOG_FORMAT_TEXT;
	log_set_role("uploader");
	log_set_db("/data/app.db");
	CAPTURE(log_info("hello"));
	log_set_role(NULL);
	log_set_db(NULL);
	ASSERT(strstr(out, "msg=hello role=uploader db=/data/app.db\n"));
}

TEST(level_filter)
{
	fmt_ = LOG_FORMAT_TEXT;
	FILE *f = tmpfile();
	log_init(LOG_LEVEL_WARN, LOG_FORMAT_TEXT, f);
	log_info("hidden");
	log_debug("hidden too");
	log_warn("shown");
	long len = ftell(f);
	fclose(f);
	log_init(LOG_LEVEL_INFO, LOG_FORMAT_TEXT, stdout);
	ASSERT(len > 0 && len < 100);
}

TEST(errno_kv)
{
	fmt_ = LOG_FORMAT_TEXT;
	errno = ENOENT;
	CAPTURE(log_warn("open", KV_ERR()));
	ASSERT(strstr(out, "error=\"No such file or directory\""));
}

TEST(parse_level)
{
	enum log_level l;
	ASSERT_INT_EQ(log_parse_level("DEBUG", &l), 0);
	ASSERT_INT_EQ(l, LOG_LEVEL_DEBUG);
	ASSERT_INT_EQ(log_parse_level("Warning", &l), 0);
	ASSERT_INT_EQ(l, LOG_LEVEL_WARN);
	ASSERT_INT_EQ(log_parse_level("loud", &l), -1);
}

int
main(void)
{
	RUN(text_line);
	RUN(text_quoting);
	RUN(json_line);
	RUN(role_and_db);
	RUN(level_filter);
	RUN(errno_kv);
	RUN(parse_level);
	return TEST_DONE();
}
