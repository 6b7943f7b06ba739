/*
 * pt_cmdtest.h - running one of the CLI's commands (cli/cmd/cmd.h) inside a
 * test program, the way main.c calls it, and keeping what it printed on
 * standard output: a command's table checked beside the code that prints it.
 *
 *	char out[4096];
 *	int rc = cmd_output(out, sizeof(out), pt_cmd_used, "used", "t.snap", NULL);
 */
#ifndef PT_CMDTEST_H
#define PT_CMDTEST_H

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"

/* Runs cmd with the arguments given (argv[0] first, NULL last) and standard
 * output sent to a temporary file, then copies what it printed into
 * out[0..len) (NUL-terminated, cut to fit).  Returns the command's exit
 * status, or -1 if the output could not be captured. */
static inline int cmd_output(char *out, size_t len, int (*cmd)(int, char **), ...)
{
	char *argv[32];
	int argc = 0, rc, saved;
	FILE *tmp = tmpfile();
	size_t got;
	va_list ap;

	out[0] = 0;
	va_start(ap, cmd);
	while (argc < 31 && (argv[argc] = va_arg(ap, char *)) != NULL)
		argc++;
	va_end(ap);
	argv[argc] = NULL;
	fflush(stdout);
	saved = dup(1);
	if (!tmp || saved < 0 || dup2(fileno(tmp), 1) < 0) {
		if (tmp)
			fclose(tmp);
		if (saved >= 0)
			close(saved);
		return -1;
	}
	rc = cmd(argc, argv);
	fflush(stdout);
	dup2(saved, 1);
	close(saved);
	rewind(tmp);
	got = fread(out, 1, len - 1, tmp);
	out[got] = 0;
	fclose(tmp);
	return rc;
}

/* The line of text that starts with prefix (after leading blanks), copied
 * into line[0..len); NULL if there is none. */
static inline const char *line_of(const char *text, const char *prefix, char *line, size_t len)
{
	for (const char *p = text; p && *p;) {
		const char *s = p, *end = strchr(p, '\n');
		size_t n = end ? (size_t)(end - p) : strlen(p);

		while (*s == ' ')
			s++;
		if (strncmp(s, prefix, strlen(prefix)) == 0) {
			snprintf(line, len, "%.*s", (int)(n - (size_t)(s - p)), s);
			return line;
		}
		p = end ? end + 1 : NULL;
	}
	return NULL;
}

#endif /* PT_CMDTEST_H */
