/*
 * main.c: the sta entry point.  Parses the options every command shares
 * (--home, --dags-folder, --json, --help), then dispatches through the
 * command table; `sta etl ...` goes to the task side (tasks/).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/log.h"
#include "runner/cli.h"
#include "runner/cmd.h"
#include "tasks/etl.h"

static const struct cli_cmd *const *const tables[] = {
	cmd_dags_table, cmd_tasks_table, cmd_lake_table, cmd_warehouse_table,
	cmd_web_table,
};
static const struct cli_cmd *commands[64];

/* Flattens the per-file tables into one NULL-terminated list. */
static void
commands_init(void)
{
	size_t n = 0;

	for (size_t t = 0; t < ARRAY_LEN(tables); t++)
		for (size_t i = 0; tables[t][i] != NULL && n + 1 < ARRAY_LEN(commands); i++)
			commands[n++] = tables[t][i];
	commands[n] = NULL;
}

static void
usage(FILE *f)
{
	fprintf(f, "usage: sta [--home DIR] [--dags-folder DIR] [--json] COMMAND ...\n\n"
	    "commands:\n");
	for (size_t i = 0; commands[i] != NULL; i++) {
		const struct cli_cmd *c = commands[i];
		char name[64];

		snprintf(name, sizeof(name), "%s%s%s", c->group ? c->group : "",
		    c->group ? " " : "", c->name);
		fprintf(f, "  %-18s %s\n", name, c->help);
	}
	fprintf(f, "  %-18s %s\n", "etl", "ethereum-etl compatible tasks (sta etl --help)");
	fprintf(f, "\nenvironment: STA_HOME (default ./.sta), STA_DAGS_FOLDER "
	    "(default ./workflows), STA_LOG_LEVEL\n");
}

/* path made absolute against the working folder (caller frees). */
static char *
absolute(const char *path)
{
	char cwd[4096];

	if (path[0] == '/' || getcwd(cwd, sizeof(cwd)) == NULL)
		return xstrdup(path);
	return xasprintf("%s/%s", cwd, path[0] == '.' && path[1] == '/' ? path + 2 : path);
}

static int
is_help(const char *s)
{
	return strcmp(s, "--help") == 0 || strcmp(s, "-h") == 0;
}

/* Takes the shared options out of argv wherever they appear (before the
 * command or after it), so `sta dags list --json` and `sta --json dags
 * list` mean the same.  Returns the new argc, or -1 on a bad option. */
static int
shared_options(struct cli_env *env, int argc, char **argv)
{
	int out = 0;

	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];

		if (strcmp(a, "--") == 0) {
			while (i < argc)
				argv[out++] = argv[i++];
			break;
		}
		if (strcmp(a, "--json") == 0) {
			env->json = 1;
		} else if (strcmp(a, "--home") == 0 || strcmp(a, "--dags-folder") == 0) {
			if (i + 1 >= argc) {
				fprintf(stderr, "sta: %s needs a value\n", a);
				return -1;
			}
			if (a[2] == 'h')
				env->home = argv[++i];
			else
				env->dags_folder = argv[++i];
		} else if (str_has_prefix(a, "--home=")) {
			env->home = a + 7;
		} else if (str_has_prefix(a, "--dags-folder=")) {
			env->dags_folder = a + 14;
		} else {
			argv[out++] = argv[i];
		}
	}
	argv[out] = NULL;
	return out;
}

static void
cmd_usage(FILE *f, const struct cli_cmd *c)
{
	fprintf(f, "usage: sta %s%s%s %s\n  %s\n", c->group ? c->group : "",
	    c->group ? " " : "", c->name, c->usage, c->help);
}

int
main(int argc, char **argv)
{
	struct cli_env env = {0};
	const char *group;
	char *abs_home, *abs_dags;

	log_init_from_env();
	commands_init();
	if (argc > 1 && strcmp(argv[1], "etl") == 0) {
		/* etl commands have ethereum-etl's own option syntax. */
		return etl_main(argc - 1, argv + 1);
	}
	argc = shared_options(&env, argc - 1, argv + 1);
	argv++;
	if (argc < 0)
		return EX_USAGE;
	env.home = env.home ? env.home : getenv("STA_HOME");
	env.home = env.home ? env.home : "./.sta";
	env.dags_folder = env.dags_folder ? env.dags_folder : getenv("STA_DAGS_FOLDER");
	env.dags_folder = env.dags_folder ? env.dags_folder : "./workflows";
	/* Tasks inherit these, so `sta ...` inside a task (a sensor, a load)
	 * sees the same state and lake. */
	abs_home = absolute(env.home);
	abs_dags = absolute(env.dags_folder);
	setenv("STA_HOME", abs_home, 1);
	setenv("STA_DAGS_FOLDER", abs_dags, 1);
	free(abs_home);
	free(abs_dags);

	if (argc == 0 || is_help(argv[0])) {
		usage(argc == 0 ? stderr : stdout);
		return argc == 0 ? EX_USAGE : 0;
	}
	if (strcmp(argv[0], "--version") == 0 || strcmp(argv[0], "version") == 0) {
		printf("sta %s\n", PACKAGE_VERSION);
		return 0;
	}
	group = argv[0];
	for (size_t i = 0; commands[i] != NULL; i++) {
		const struct cli_cmd *c = commands[i];
		int has_group = c->group != NULL;

		if (has_group ? strcmp(c->group, group) != 0 : strcmp(c->name, group) != 0)
			continue;
		if (has_group && (argc < 2 || strcmp(c->name, argv[1]) != 0))
			continue;
		char **sub = has_group ? argv + 1 : argv;
		int subc = has_group ? argc - 1 : argc;

		for (int j = 1; j < subc; j++) {
			if (is_help(sub[j])) {
				cmd_usage(stdout, c);
				return 0;
			}
		}
		return c->exec(&env, subc, sub);
	}
	/* A known group with a bad or missing verb (or --help): list its verbs. */
	int known = 0, help = argc > 1 && is_help(argv[1]);
	FILE *f = help ? stdout : stderr;

	for (size_t i = 0; commands[i] != NULL; i++) {
		if (commands[i]->group && strcmp(commands[i]->group, group) == 0) {
			if (!known)
				fprintf(f, "sta %s: %s\n", group, help ? "commands" : "expected one of:");
			known = 1;
			cmd_usage(f, commands[i]);
		}
	}
	if (known && help)
		return 0;
	if (!known)
		fprintf(stderr, "sta: unknown command '%s' (sta --help lists them)\n", group);
	return EX_USAGE;
}
