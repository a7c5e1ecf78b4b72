/* version: prints the version, like `litestream version`. */
#include <stdio.h>

#include "commands.h"

int
cmd_version(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	printf("%s\n", WALSHIP_VERSION);
	return 0;
}
