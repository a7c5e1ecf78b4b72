/*
 * common/shellwords.c: the word splitting of replicate -exec, against what
 * github.com/mattn/go-shellwords (Litestream's) makes of the same lines,
 * and the errors where walship is stricter.
 */
#include <stdio.h>
#include <stdlib.h>

#include "shellwords.h"
#include "test.h"

/* LINE splits into exactly the N words of WANT. */
static int
splits(const char *line, const char *const *want, int n)
{
	char err[256];
	char **w = shellwords_split(line, err, sizeof(err));
	int ok = w != NULL;

	if (w == NULL)
		printf("  \"%s\": %s\n", line, err);
	for (int i = 0; ok && i < n; i++) {
		if (w[i] == NULL || strcmp(w[i], want[i]) != 0) {
			printf("  \"%s\": word %d is \"%s\", want \"%s\"\n",
			    line, i, w[i] ? w[i] : "(none)", want[i]);
			ok = 0;
		}
	}
	if (ok && w[n] != NULL) {
		printf("  \"%s\": extra word \"%s\"\n", line, w[n]);
		ok = 0;
	}
	shellwords_free(w);
	return ok;
}

#define SPLITS(line, ...) do { \
	static const char *const want_[] = { __VA_ARGS__ }; \
	ASSERT(splits((line), want_, sizeof(want_) / sizeof(want_[0]))); \
} while (0)

/* LINE is refused with an error containing WHY. */
static int
refused(const char *line, const char *why)
{
	char err[256] = "";
	char **w = shellwords_split(line, err, sizeof(err));

	if (w != NULL) {
		shellwords_free(w);
		printf("  \"%s\": accepted\n", line);
		return 0;
	}
	if (strstr(err, why) == NULL) {
		printf("  \"%s\": error \"%s\", want \"%s\"\n", line, err, why);
		return 0;
	}
	return 1;
}

TEST(plain_words)
{
	SPLITS("./foo --bar=baz", "./foo", "--bar=baz");
	SPLITS("  app\t-x \n 1  ", "app", "-x", "1");
	SPLITS("one", "one");
}

TEST(quotes)
{
	SPLITS("app 'a b' \"c d\"", "app", "a b", "c d");
	SPLITS("app 'it\"s' \"it's\"", "app", "it\"s", "it's");
	SPLITS("app --name='The Fox'", "app", "--name=The Fox");
	SPLITS("app 'a''b'\"c\"", "app", "abc");
	SPLITS("app '' x", "app", "", "x");
	/* Nothing is expanded: there is no shell. */
	SPLITS("app $HOME `id` *", "app", "$HOME", "`id`", "*");
	/* Operators inside quotes are plain characters. */
	SPLITS("sh -c 'a && b | c > d; e'", "sh", "-c", "a && b | c > d; e");
}

TEST(backslashes)
{
	SPLITS("app a\\ b", "app", "a b");
	SPLITS("app \\'x", "app", "'x");
	/* go-shellwords: a backslash escapes in double quotes too, and is
	 * literal in single quotes. */
	SPLITS("app \"a\\\"b\"", "app", "a\"b");
	SPLITS("app 'a\\b'", "app", "a\\b");
	SPLITS("app a\\;b", "app", "a;b");
}

TEST(errors)
{
	ASSERT(refused("app 'open", "unterminated quote"));
	ASSERT(refused("app \"open", "unterminated quote"));
	ASSERT(refused("app x\\", "trailing backslash"));
	ASSERT(refused("", "empty command"));
	ASSERT(refused("   ", "empty command"));
	/* go-shellwords would silently drop what follows these. */
	ASSERT(refused("app; rm -rf /", "unquoted ';'"));
	ASSERT(refused("app && other", "unquoted '&'"));
	ASSERT(refused("app | tee log", "unquoted '|'"));
	ASSERT(refused("app > log", "unquoted '>'"));
	ASSERT(refused("app < in", "unquoted '<'"));
}

int
main(void)
{
	RUN(plain_words);
	RUN(quotes);
	RUN(backslashes);
	RUN(errors);
	return TEST_DONE();
}
