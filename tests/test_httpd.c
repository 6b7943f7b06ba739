/*
 * test_httpd.c - the exporter's HTTP side without a network: request heads
 * (complete or not, routes, methods, malformed ones) and --listen
 * addresses.  tests/e2e/exporter.bats serves real connections.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <unistd.h>

#include "httpd.h"
#include "pt_test.h"

/* Parses s: the status, or 0 if the head is incomplete; *route set. */
static int parse(const char *s, enum pt_http_route *route, int *head)
{
	struct pt_http_req r;

	if (!pt_http_parse(s, strlen(s), &r))
		return 0;
	if (route)
		*route = r.route;
	if (head)
		*head = r.head;
	return r.status;
}

PT_TEST(test_routes)
{
	enum pt_http_route rt;
	int head;

	PT_CHECK_EQ(parse("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", &rt, &head), 200);
	PT_CHECK(rt == PT_HTTP_METRICS && !head);
	PT_CHECK_EQ(parse("HEAD /metrics HTTP/1.0\r\n\r\n", &rt, &head), 200);
	PT_CHECK(rt == PT_HTTP_METRICS && head);
	PT_CHECK_EQ(parse("GET /metrics?x=1&y HTTP/1.1\n\n", &rt, NULL), 200);
	PT_CHECK(rt == PT_HTTP_METRICS);
	PT_CHECK_EQ(parse("GET / HTTP/1.1\r\n\r\n", &rt, NULL), 200);
	PT_CHECK(rt == PT_HTTP_INDEX);
	PT_CHECK_EQ(parse("GET http://h:9464/metrics HTTP/1.1\r\n\r\n", &rt, NULL), 200);
	PT_CHECK(rt == PT_HTTP_METRICS);
	PT_CHECK_EQ(parse("GET http://h:9464 HTTP/1.1\r\n\r\n", &rt, NULL), 200);
	PT_CHECK(rt == PT_HTTP_INDEX);
	/* One empty line before the request line is allowed. */
	PT_CHECK_EQ(parse("\r\nGET / HTTP/1.1\r\n\r\n", &rt, NULL), 200);
	PT_CHECK_EQ(parse("\nGET / HTTP/1.1\r\n\r\n", &rt, NULL), 200);
	PT_CHECK_EQ(parse("GET /metrics/ HTTP/1.1\r\n\r\n", &rt, NULL), 404);
	PT_CHECK(rt == PT_HTTP_NONE);
	PT_CHECK_EQ(parse("GET /METRICS HTTP/1.1\r\n\r\n", NULL, NULL), 404);
	PT_CHECK_EQ(parse("GET /metricsx HTTP/1.1\r\n\r\n", NULL, NULL), 404);
	PT_CHECK_EQ(parse("GET //metrics HTTP/1.1\r\n\r\n", NULL, NULL), 404);
	PT_CHECK_EQ(parse("POST /metrics HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc", &rt, NULL), 405);
	PT_CHECK(rt == PT_HTTP_NONE);
	PT_CHECK_EQ(parse("DELETE / HTTP/1.1\r\n\r\n", NULL, NULL), 405);
	PT_CHECK_EQ(parse("get /metrics HTTP/1.1\r\n\r\n", NULL, NULL), 405); /* case-sensitive */
	PT_CHECK_EQ(parse("GET /metrics HTTP/2.0\r\n\r\n", NULL, NULL), 505);
}

PT_TEST(test_incomplete_heads)
{
	PT_CHECK_EQ(parse("", NULL, NULL), 0);
	PT_CHECK_EQ(parse("GET /metrics HTTP/1.1", NULL, NULL), 0);
	PT_CHECK_EQ(parse("GET /metrics HTTP/1.1\r\n", NULL, NULL), 0);
	PT_CHECK_EQ(parse("GET /metrics HTTP/1.1\r\nHost: x\r\n", NULL, NULL), 0);
	PT_CHECK_EQ(parse("GET /metrics HTTP/1.1\r\nHost: x\r\n\r", NULL, NULL), 0);
	PT_CHECK_EQ(parse("\r", NULL, NULL), 0);
	PT_CHECK_EQ(parse("\r\n", NULL, NULL), 0);
}

/* A prefix no request can start with is answered at once: the server
 * need not wait for an empty line that may never come. */
PT_TEST(test_early_verdicts)
{
	static const char *const bad[] = {
		"\r\n\r\n",	/* a second empty line: an empty request line */
		"\n\n",
		"\x16\x03\x01\x02", /* a TLS client hello */
		"\x01",
		" ",
		"\rX",
		"GET\t",
		"GET  ",
		"GET /m\x01",
		"GET /m\r",
		"GET / \r",
		"GET / HTTX",
		"GET / HTTP/x",
		"GET / HTTP/1,",
		"GET / HTTP/1.1X",
		"GET / HTTP/1.1\rX",
		"GET / HTTP/1.1\r\nbad header\r\n",
		"GET / HTTP/1.1\r\nbad header",
		"GET / HTTP/1.1\r\n: x",
		"GET / HTTP/1.1\r\n folded",
		"GET / HTTP/1.1\r\nA: b\rc",
		"GET / HTTP/1.1\r\nX\r",
		"GET metrics HTTP/1.1\r\n", /* the request line ended: judged */
		"GET / HTTP/1.1\r\nHost: x\r\nA(",
		"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", /* a method of 33 bytes */
	};
	static const char *const pending[] = {
		"G",
		"GET",
		"GET ",
		"GET /met",
		"GET /metrics ",
		"GET /metrics HTTP/1",
		"GET /metrics HTTP/1.1\r",
		"GET /metrics HTTP/9.9\r\n", /* 505, once the head is complete */
		"POST /metrics HTTP/1.1\r\n", /* 405, likewise */
		"GET / HTTP/1.1\r\nHost",
		"GET / HTTP/1.1\r\nHost:",
		"GET / HTTP/1.1\r\nHost: x\r",
		"GET / HTTP/1.1\r\nHost: x\r\n\r",
		"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
	};
	struct pt_http_req r;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (parse(bad[i], NULL, NULL) != 400)
			PT_FAIL_("not an early 400: \"%s\"", bad[i]);
	for (size_t i = 0; i < sizeof(pending) / sizeof(pending[0]); i++)
		if (parse(pending[i], NULL, NULL) != 0)
			PT_FAIL_("judged too early: \"%s\"", pending[i]);
	PT_CHECK_EQ(pt_http_parse("GET / HTTP/1.1\r\nA: \0", 21, &r), 1);
	PT_CHECK_EQ(r.status, 400);
}

/* Every prefix of a good head waits; every prefix of a bad one waits or is
 * a 400, and so is the whole. */
PT_TEST(test_prefixes)
{
	static const char *const heads[] = {
		"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1:9464\r\nUser-Agent: Prometheus/2.45\r\n"
		"Accept: application/openmetrics-text;version=1.0.0;q=0.5,*/*;q=0.1\r\n"
		"X-Prometheus-Scrape-Timeout-Seconds: 10\r\n\r\n",
		"\r\nHEAD http://h/metrics?x HTTP/1.0\n\n",
		"DELETE /x HTTP/1.1\r\n\r\n",
		"GET / HTTP/2.0\r\n\r\n",
	};
	static const char *const bad[] = {
		"GET / HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n",
		"GET /metrics HTTP/1.1 \r\n\r\n",
		"GET\r\n\r\n",
	};
	struct pt_http_req r;

	for (size_t i = 0; i < sizeof(heads) / sizeof(heads[0]); i++) {
		size_t n = strlen(heads[i]);
		for (size_t k = 0; k < n; k++)
			if (pt_http_parse(heads[i], k, &r) != 0)
				PT_FAIL_("head %zu judged at byte %zu of %zu", i, k, n);
		PT_CHECK_EQ(pt_http_parse(heads[i], n, &r), 1);
		PT_CHECK(r.status != 400);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		size_t n = strlen(bad[i]);
		for (size_t k = 0; k <= n; k++)
			if (pt_http_parse(bad[i], k, &r) != 0 && r.status != 400)
				PT_FAIL_("bad head %zu: %d at byte %zu", i, r.status, k);
		PT_CHECK_EQ(parse(bad[i], NULL, NULL), 400);
	}
}

PT_TEST(test_malformed_heads)
{
	static const char *const bad[] = {
		"GET\r\n\r\n",
		"GET /metrics\r\n\r\n",
		"GET  /metrics HTTP/1.1\r\n\r\n",
		"GET /metrics  HTTP/1.1\r\n\r\n",
		"GET metrics HTTP/1.1\r\n\r\n",
		"GET /metrics HTTP/1.1 \r\n\r\n",
		"GET /metrics HTTP/1.\r\n\r\n",
		"GET /metrics HTTP/1.12\r\n\r\n",
		"GET /metrics http/1.1\r\n\r\n",
		"GET /me\ttrics HTTP/1.1\r\n\r\n",
		"GET /metrics HTTP/1.1\r\nno colon\r\n\r\n",
		"GET /metrics HTTP/1.1\r\n: no name\r\n\r\n",
		"GET /metrics HTTP/1.1\r\nName : space before colon\r\n\r\n",
		"GET /metrics HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n",
		"GET /metrics HTTP/1.1\r\nHost: a\rb\r\n\r\n",
		"G(T /metrics HTTP/1.1\r\n\r\n",
		" GET /metrics HTTP/1.1\r\n\r\n",
		"\xff /metrics HTTP/1.1\r\n\r\n",
	};
	enum pt_http_route rt;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		rt = PT_HTTP_METRICS;
		if (parse(bad[i], &rt, NULL) != 400 || rt != PT_HTTP_NONE)
			PT_FAIL_("not a 400: \"%s\"", bad[i]);
	}
	/* A NUL byte in the head. */
	struct pt_http_req r;
	static const char nul[] = "GET /metrics HTTP/1.1\r\nA: \0b\r\n\r\n";
	PT_CHECK_EQ(pt_http_parse(nul, sizeof(nul) - 1, &r), 1);
	PT_CHECK_EQ(r.status, 400);
	static const char nul2[] = "GET /metr\0ics HTTP/1.1\r\n\r\n";
	PT_CHECK_EQ(pt_http_parse(nul2, sizeof(nul2) - 1, &r), 1);
	PT_CHECK_EQ(r.status, 400);
}

static int listen_ok(const char *spec, int family, const char *host, int port)
{
	struct sockaddr_storage ss;
	socklen_t len;
	char err[256], buf[64] = "";

	if (pt_http_parse_listen(spec, &ss, &len, err, sizeof(err)) != 0) {
		printf("# %s: %s\n", spec, err);
		return 0;
	}
	if (ss.ss_family != family)
		return 0;
	if (family == AF_INET) {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;
		inet_ntop(AF_INET, &a->sin_addr, buf, sizeof(buf));
		return strcmp(buf, host) == 0 && ntohs(a->sin_port) == port;
	}
	struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
	inet_ntop(AF_INET6, &a->sin6_addr, buf, sizeof(buf));
	return strcmp(buf, host) == 0 && ntohs(a->sin6_port) == port;
}

static const char *listen_err(const char *spec)
{
	static char err[256];
	struct sockaddr_storage ss;
	socklen_t len;

	if (pt_http_parse_listen(spec, &ss, &len, err, sizeof(err)) == 0)
		return "accepted";
	return err;
}

PT_TEST(test_listen_addresses)
{
	PT_CHECK(listen_ok("127.0.0.1:9464", AF_INET, "127.0.0.1", 9464));
	PT_CHECK(listen_ok(":9464", AF_INET, "0.0.0.0", 9464));
	PT_CHECK(listen_ok("0.0.0.0:0", AF_INET, "0.0.0.0", 0));
	PT_CHECK(listen_ok("[::1]:65535", AF_INET6, "::1", 65535));
	PT_CHECK(listen_ok("[::]:80", AF_INET6, "::", 80));
	PT_CHECK_HAS(listen_err("127.0.0.1"), "bad address '127.0.0.1': want HOST:PORT");
	PT_CHECK_HAS(listen_err("9464"), "bad address");
	PT_CHECK_HAS(listen_err("::1:9464"), "bad address");
	PT_CHECK_HAS(listen_err("[::1]9464"), "bad address");
	PT_CHECK_HAS(listen_err("[]:1"), "bad address");
	PT_CHECK_HAS(listen_err("[127.0.0.1]:1"), "cannot resolve '127.0.0.1'");
	PT_CHECK_HAS(listen_err("127.0.0.1:65536"), "bad port in '127.0.0.1:65536'");
	PT_CHECK_HAS(listen_err("127.0.0.1:-1"), "bad port");
	PT_CHECK_HAS(listen_err("127.0.0.1: 1"), "bad port");
	PT_CHECK_HAS(listen_err("127.0.0.1:1x"), "bad port");
	PT_CHECK_HAS(listen_err("127.0.0.1:"), "bad port");
	PT_CHECK_HAS(listen_err("127.0.0.1:000001"), "bad port");
	PT_CHECK_HAS(listen_err("300.1.1.1:80"), "cannot resolve '300.1.1.1'");
}

PT_TEST(test_listen_and_url)
{
	struct sockaddr_storage ss;
	socklen_t len;
	char err[256], url[128];
	int fd, fd2;

	PT_CHECK_EQ(pt_http_parse_listen("127.0.0.1:0", &ss, &len, err, sizeof(err)), 0);
	fd = pt_http_listen(&ss, len, err, sizeof(err));
	PT_CHECK(fd >= 0);
	if (fd < 0)
		return;
	pt_http_url(fd, url, sizeof(url));
	PT_CHECK(strncmp(url, "http://127.0.0.1:", 17) == 0 && strcmp(url + 17, "0") != 0);
	/* The same port again: in use. */
	char spec[128];
	snprintf(spec, sizeof(spec), "%s", url + 7);
	PT_CHECK_EQ(pt_http_parse_listen(spec, &ss, &len, err, sizeof(err)), 0);
	fd2 = pt_http_listen(&ss, len, err, sizeof(err));
	PT_CHECK_EQ(fd2, -1);
	PT_CHECK_HAS(err, "cannot listen on ");
	PT_CHECK_HAS(err, spec);
	PT_CHECK_HAS(err, "Address already in use");
	close(fd);
}

int main(void)
{
	PT_RUN(test_routes);
	PT_RUN(test_incomplete_heads);
	PT_RUN(test_early_verdicts);
	PT_RUN(test_prefixes);
	PT_RUN(test_malformed_heads);
	PT_RUN(test_listen_addresses);
	PT_RUN(test_listen_and_url);
	return pt_test_done();
}
