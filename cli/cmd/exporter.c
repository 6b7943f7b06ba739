/*
 * exporter.c - `pooltag exporter`: the counters of every process of the
 * user, served to Prometheus on /metrics (scrape.c makes the text, httpd.c
 * serves it).
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "allocinfo.h"
#include "cmd.h"
#include "httpd.h"
#include "scrape.h"

#define DEFAULT_LISTEN "127.0.0.1:9464"

struct exporter {
	struct pt_scrape_opts opts;
	struct pt_scrape_state state;
};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static char *metrics(void *arg, size_t *len)
{
	struct exporter *x = arg;
	return pt_scrape(&x->opts, &x->state, len);
}

static void usage(void)
{
	printf("usage: pooltag exporter [--listen ADDR] [--sites] [--sampled-paths N]\n"
	       "                        [--max-processes N] [--max-series N]\n"
	       "                        [--max-connections N] [--once] [--kernel]\n"
	       "  serves /metrics in the Prometheus text format: the counters of every\n"
	       "  process of yours that exports them\n"
	       "  --listen ADDR        HOST:PORT, [IPV6]:PORT or :PORT (default " DEFAULT_LISTEN ")\n"
	       "  --sites              per call site series too, and the biggest sampled\n"
	       "                       call paths of each process\n"
	       "  --sampled-paths N    sampled call paths per process with --sites\n"
	       "                       (default 10; 0: none)\n"
	       "  --max-processes N    processes read per scrape (default 1000)\n"
	       "  --max-series N       per-process series per scrape (default 100000)\n"
	       "  --max-connections N  clients served at once; a new one takes the place\n"
	       "                       of the oldest idle one (default 1024)\n"
	       "  --once               print one scrape on standard output and exit\n"
	       "  --kernel             the Linux kernel's /proc/allocinfo too, per module\n");
}

/* ---- Parse --------------------------------------------------------------- */

/* What the command line asks beyond the scrape's options. */
struct exporter_opts {
	struct pt_http_limits lim;
	const char *listen_at;
	int once; /* one scrape on standard output, no server */
};

/* One option of getopt_long's but --help: 0, or 2 on a usage error
 * (printed). */
static int take_opt(struct exporter *x, struct exporter_opts *o, int c, char *arg, char **argv)
{
	long v;

	switch (c) {
	case 'l':
		o->listen_at = arg;
		return 0;
	case 'S':
		x->opts.sites = 1;
		return 0;
	case 'P':
	case 'N':
		v = pt_parse_count("exporter", c == 'P' ? "--max-processes" : "--max-series", arg);
		if (v < 0)
			return 2;
		if (c == 'P')
			x->opts.max_processes = (size_t)v;
		else
			x->opts.max_series = (size_t)v;
		return 0;
	case 'p':
		if ((v = pt_parse_count("exporter", "--sampled-paths", arg)) < 0)
			return 2;
		x->opts.paths = (size_t)v;
		return 0;
	case 'C':
		if ((v = pt_parse_count("exporter", "--max-connections", arg)) < 0)
			return 2;
		if (v == 0)
			return pt_usage_err("exporter", "--max-connections wants at least 1");
		o->lim.conn.max_conns = (size_t)v;
		return 0;
	case 'o':
		o->once = 1;
		return 0;
	case 'K':
		x->opts.kernel = 1;
		return 0;
	default:
		return pt_getopt_err("exporter", argv);
	}
}

static int exporter_parse(int argc, char **argv, struct exporter *x, struct exporter_opts *o)
{
	static const struct option longs[] = {
		{"listen", required_argument, 0, 'l'}, {"sites", no_argument, 0, 'S'},
		{"max-processes", required_argument, 0, 'P'},
		{"max-series", required_argument, 0, 'N'}, {"once", no_argument, 0, 'o'},
		{"max-connections", required_argument, 0, 'C'},
		{"sampled-paths", required_argument, 0, 'p'},
		{"help", no_argument, 0, 'h'}, {"kernel", no_argument, 0, 'K'},
		{0, 0, 0, 0}};
	int c, rc;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", longs, NULL)) != -1) {
		if (c == 'h') {
			usage();
			return 0;
		}
		if ((rc = take_opt(x, o, c, optarg, argv)) != 0)
			return rc;
	}
	if (optind < argc)
		return pt_usage_err("exporter", "unexpected argument '%s'", argv[optind]);
	return PT_PARSED;
}

/* ---- Execute and print --------------------------------------------------- */

/* --once: one scrape on standard output.  The exit status. */
static int exporter_once(struct exporter *x)
{
	size_t len;
	char *text = pt_scrape(&x->opts, &x->state, &len);

	if (!text) {
		pt_err("exporter: out of memory");
		return 1;
	}
	fwrite(text, 1, len, stdout);
	free(text);
	return pt_flush_stdout();
}

/* The server, until SIGINT or SIGTERM.  The exit status. */
static int exporter_serve(struct exporter *x, struct exporter_opts *o)
{
	struct sigaction sa = {.sa_handler = on_signal};
	struct sockaddr_storage ss;
	socklen_t sslen;
	char err[512], url[128];
	int fd, rc;

	if (pt_http_parse_listen(o->listen_at, &ss, &sslen, err, sizeof(err)) != 0)
		return pt_usage_err("exporter", "--listen: %s", err);
	if (pt_http_fit_nofile(&o->lim.conn.max_conns, err, sizeof(err)) != 0) {
		pt_err("exporter: %s", err);
		return 1;
	}
	if (err[0])
		pt_err("exporter: note: %s", err);
	if ((fd = pt_http_listen(&ss, sslen, err, sizeof(err))) < 0) {
		pt_err("exporter: %s", err);
		return 1;
	}
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	/* The one line a supervisor (or a test) waits for: where to scrape. */
	printf("pooltag exporter: serving %s/metrics\n", pt_http_url(fd, url, sizeof(url)));
	if (pt_flush_stdout() != 0) {
		close(fd);
		return 1;
	}
	rc = pt_http_serve(fd, &o->lim, metrics, x, &stop, err, sizeof(err));
	close(fd);
	if (rc != 0) {
		pt_err("exporter: %s", err);
		return 1;
	}
	return 0;
}

/* ---- The command --------------------------------------------------------- */

int pt_cmd_exporter(int argc, char **argv)
{
	struct exporter x = {
		.opts = {.max_processes = 1000, .max_series = 100000, .paths = 10, .log = stderr}};
	struct exporter_opts o = {.lim = PT_HTTP_LIMITS_DEFAULT, .listen_at = DEFAULT_LISTEN};
	char err[512];
	int rc = exporter_parse(argc, argv, &x, &o);

	if (rc != PT_PARSED)
		return rc;
	if (x.opts.kernel && pt_allocinfo_check(err, sizeof(err)) != 0) {
		pt_err("exporter: %s", err);
		return 1;
	}
	return o.once ? exporter_once(&x) : exporter_serve(&x, &o);
}
