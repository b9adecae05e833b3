/*
 * main.c: the sta entry point; dispatches to the command table.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "lib/log.h"

int
main(int argc, char **argv)
{
	log_init_from_env();
	if (argc > 1 && strcmp(argv[1], "--version") == 0) {
		printf("sta %s\n", PACKAGE_VERSION);
		return 0;
	}
	fprintf(stderr, "usage: sta COMMAND ...\n");
	return 64;
}
