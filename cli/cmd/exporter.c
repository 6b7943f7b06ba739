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

int pt_cmd_exporter(int argc, char **argv)
{
	static const struct option longs[] = {
		{"listen", required_argument, 0, 'l'}, {"sites", no_argument, 0, 'S'},
		{"max-processes", required_argument, 0, 'P'},
		{"max-series", required_argument, 0, 'N'}, {"once", no_argument, 0, 'o'},
		{"max-connections", required_argument, 0, 'C'},
		{"sampled-paths", required_argument, 0, 'p'},
		{"help", no_argument, 0, 'h'}, {"kernel", no_argument, 0, 'K'},
		{0, 0, 0, 0}};
	struct exporter x = {
		.opts = {.max_processes = 1000, .max_series = 100000, .paths = 10, .log = stderr}};
	struct pt_http_limits lim = PT_HTTP_LIMITS_DEFAULT;
	const char *listen_at = DEFAULT_LISTEN;
	struct sockaddr_storage ss;
	socklen_t sslen;
	struct sigaction sa = {.sa_handler = on_signal};
	char err[512], url[128];
	int c, once = 0, fd, rc;
	long v;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", longs, NULL)) != -1) {
		switch (c) {
		case 'l':
			listen_at = optarg;
			break;
		case 'S':
			x.opts.sites = 1;
			break;
		case 'P':
		case 'N':
			v = pt_parse_count("exporter", c == 'P' ? "--max-processes" : "--max-series",
					   optarg);
			if (v < 0)
				return 2;
			if (c == 'P')
				x.opts.max_processes = (size_t)v;
			else
				x.opts.max_series = (size_t)v;
			break;
		case 'p':
			v = pt_parse_count("exporter", "--sampled-paths", optarg);
			if (v < 0)
				return 2;
			x.opts.paths = (size_t)v;
			break;
		case 'C':
			v = pt_parse_count("exporter", "--max-connections", optarg);
			if (v < 0)
				return 2;
			if (v == 0)
				return pt_usage_err("exporter", "--max-connections wants at least 1");
			lim.conn.max_conns = (size_t)v;
			break;
		case 'o':
			once = 1;
			break;
		case 'K':
			x.opts.kernel = 1;
			break;
		case 'h':
			usage();
			return 0;
		default:
			return pt_getopt_err("exporter", argv);
		}
	}
	if (optind < argc)
		return pt_usage_err("exporter", "unexpected argument '%s'", argv[optind]);
	if (x.opts.kernel && pt_allocinfo_check(err, sizeof(err)) != 0) {
		pt_err("exporter: %s", err);
		return 1;
	}
	if (once) {
		size_t len;
		char *text = pt_scrape(&x.opts, &x.state, &len);
		if (!text) {
			pt_err("exporter: out of memory");
			return 1;
		}
		fwrite(text, 1, len, stdout);
		free(text);
		return pt_flush_stdout();
	}
	if (pt_http_parse_listen(listen_at, &ss, &sslen, err, sizeof(err)) != 0)
		return pt_usage_err("exporter", "--listen: %s", err);
	if (pt_http_fit_nofile(&lim.conn.max_conns, err, sizeof(err)) != 0) {
		pt_err("exporter: %s", err);
		return 1;
	}
	if (err[0])
		pt_err("exporter: note: %s", err);
	fd = pt_http_listen(&ss, sslen, err, sizeof(err));
	if (fd < 0) {
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
	rc = pt_http_serve(fd, &lim, metrics, &x, &stop, err, sizeof(err));
	close(fd);
	if (rc != 0) {
		pt_err("exporter: %s", err);
		return 1;
	}
	return 0;
}
