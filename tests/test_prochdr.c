/*
 * test_prochdr.c - the process header of snapshots and recordings
 * (cli/formats/prochdr.c): every key into its field, only the format's own
 * keys, each refusal with its message, the required keys and the kernel's
 * waiver of pid.
 */
#include <stdint.h>
#include <string.h>

#include "prochdr.h"
#include "pt_test.h"
#include "view.h"

#define BIT PT_PH_BIT
/* The two formats' key sets, as snapshot.c and recording_read.c give them. */
#define SNAP_KEYS                                                                                  \
	(BIT(PT_PH_PID) | BIT(PT_PH_UID) | BIT(PT_PH_COMMAND) | BIT(PT_PH_TAKEN) |                 \
	 BIT(PT_PH_CREATED) | BIT(PT_PH_START_TICKS) | BIT(PT_PH_MISUSE))
#define REC_KEYS                                                                                   \
	(BIT(PT_PH_PID) | BIT(PT_PH_UID) | BIT(PT_PH_COMMAND) | BIT(PT_PH_CREATED) |               \
	 BIT(PT_PH_START_TICKS) | BIT(PT_PH_INTERVAL_US) | BIT(PT_PH_KERNEL))
#define PROC (BIT(PT_PH_PID) | BIT(PT_PH_UID) | BIT(PT_PH_COMMAND))

static char errbuf[512];
static struct pt_tf_parser tp = {.name = "t.hdr", .err = errbuf, .errlen = sizeof(errbuf)};
static struct pt_view view;
static int64_t interval;

/* A header of the given keys, reading into view and interval. */
static struct pt_ph hdr(unsigned keys, unsigned required)
{
	pt_view_free(&view);
	pt_view_init(&view);
	interval = -1;
	tp.lineno = 1;
	return (struct pt_ph){
	    .keys = keys, .required = required, .v = &view, .interval_us = &interval};
}

/* Feeds text to h line by line (the first is line 1) up to the first
 * error; returns it (0: none). */
static int feed(struct pt_ph *h, const char *text)
{
	const char *s = text;
	int r = 0;

	errbuf[0] = '\0';
	for (tp.lineno = 1; *s && r == 0; tp.lineno++) {
		const char *nl = strchr(s, '\n');
		size_t n = nl ? (size_t)(nl - s) : strlen(s);

		r = pt_ph_line(h, &tp, s, n);
		s += n + (nl != NULL);
	}
	return r;
}

#define EXPECT_ERR(keys, text, msg)                                                                \
	do {                                                                                       \
		struct pt_ph h_ = hdr(keys, 0);                                                    \
		PT_CHECK_EQ(feed(&h_, text), -1);                                                  \
		PT_CHECK_STR(errbuf, msg);                                                         \
	} while (0)

PT_TEST(test_every_key_into_its_field)
{
	struct pt_ph h = hdr(SNAP_KEYS | REC_KEYS, 0);

	PT_CHECK_EQ(feed(&h,
	                 "pid 2147483647\nuid 4294967295\ncommand my prog%09%25\n"
	                 "taken 9223372036854775807\ncreated 5\nstart_ticks 18446744073709551615\n"
	                 "misuse 3\ninterval_us 100000\n"),
	            0);
	PT_CHECK_EQ(view.pid, INT32_MAX);
	PT_CHECK(view.uid == UINT32_MAX);
	PT_CHECK_STR(view.comm, "my prog\t%");
	PT_CHECK_EQ(view.taken_ns, INT64_MAX);
	PT_CHECK_EQ(view.created_ns, 5);
	PT_CHECK(view.start_ticks == UINT64_MAX);
	PT_CHECK_EQ(view.nmisuse, 3);
	PT_CHECK_EQ(interval, 100000);
	PT_CHECK(view.kernel_format == NULL);
	PT_CHECK_EQ(h.seen, (SNAP_KEYS | REC_KEYS) & ~BIT(PT_PH_KERNEL));

	h = hdr(REC_KEYS, 0);
	PT_CHECK_EQ(feed(&h, "kernel 2.0 /proc/allocinfo\nuid 0\ncommand kernel\n"), 0);
	PT_CHECK_STR(view.kernel_format, "2.0");
	PT_CHECK_STR(view.kernel_source, "/proc/allocinfo");
	PT_CHECK_EQ(view.outstanding_only, 1);
	PT_CHECK_EQ(view.pid, 0);
}

/* A key is known only to a format that has it; a word is the text up to a
 * space or a TAB, whole. */
PT_TEST(test_only_the_formats_keys)
{
	struct pt_ph h = hdr(SNAP_KEYS, 0);

	PT_CHECK_EQ(pt_ph_key(&h, "misuse 1", 8), PT_PH_MISUSE);
	PT_CHECK_EQ(pt_ph_key(&h, "taken\t1", 7), PT_PH_TAKEN);
	PT_CHECK_EQ(pt_ph_key(&h, "pid", 3), PT_PH_PID);
	PT_CHECK_EQ(pt_ph_key(&h, "pid", 2), -1);
	PT_CHECK_EQ(pt_ph_key(&h, "pidx 1", 6), -1);
	PT_CHECK_EQ(pt_ph_key(&h, "interval_us 1", 13), -1);
	PT_CHECK_EQ(pt_ph_key(&h, "kernel 1.0 x", 12), -1);
	h = hdr(REC_KEYS, 0);
	PT_CHECK_EQ(pt_ph_key(&h, "interval_us 1", 13), PT_PH_INTERVAL_US);
	PT_CHECK_EQ(pt_ph_key(&h, "misuse 1", 8), -1);
	PT_CHECK_EQ(pt_ph_key(&h, "taken 1", 7), -1);

	EXPECT_ERR(SNAP_KEYS, "pid 1\ninterval_us 5\n", "t.hdr:2: unknown line type 'interval_us'");
	EXPECT_ERR(SNAP_KEYS, "kernel 1.0 x\n", "t.hdr:1: unknown line type 'kernel'");
	EXPECT_ERR(REC_KEYS, "misuse 0\n", "t.hdr:1: unknown line type 'misuse'");
	EXPECT_ERR(REC_KEYS, "taken 0\n", "t.hdr:1: unknown line type 'taken'");
	EXPECT_ERR(REC_KEYS, "pi%d\x01 1\n", "t.hdr:1: unknown line type 'pi%25d%01'");
}

PT_TEST(test_rejects)
{
	EXPECT_ERR(SNAP_KEYS, "pid 1\nuid 2\npid 1\n", "t.hdr:3: duplicated key 'pid'");
	EXPECT_ERR(SNAP_KEYS, "pid\n", "t.hdr:1: wrong field count: expected 'pid VALUE'");
	EXPECT_ERR(SNAP_KEYS, "misuse\t1\n", "t.hdr:1: wrong field count: expected 'misuse VALUE'");
	EXPECT_ERR(SNAP_KEYS, "pid 0\n",
	           "t.hdr:1: bad number for pid: '0' is out of range (1 to 2147483647)");
	EXPECT_ERR(SNAP_KEYS, "pid 2147483648\n",
	           "t.hdr:1: bad number for pid: '2147483648' is out of range (1 to 2147483647)");
	EXPECT_ERR(SNAP_KEYS, "pid  1\n", "t.hdr:1: bad number for pid: ' 1'");
	EXPECT_ERR(SNAP_KEYS, "uid 4294967296\n",
	           "t.hdr:1: bad number for uid: '4294967296' is out of range (0 to 4294967295)");
	EXPECT_ERR(SNAP_KEYS, "taken 9223372036854775808\n",
	           "t.hdr:1: bad number for taken: '9223372036854775808' is out of range "
	           "(0 to 9223372036854775807)");
	EXPECT_ERR(REC_KEYS, "created 01\n", "t.hdr:1: bad number for created: '01'");
	EXPECT_ERR(REC_KEYS, "interval_us -1\n", "t.hdr:1: bad number for interval_us: '-1'");
	EXPECT_ERR(SNAP_KEYS, "start_ticks 18446744073709551616\n",
	           "t.hdr:1: bad number for start_ticks: '18446744073709551616' is out of range "
	           "(0 to 18446744073709551615)");
	EXPECT_ERR(SNAP_KEYS, "command a%0\n", "t.hdr:1: bad escape in command: '%250'");
	EXPECT_ERR(SNAP_KEYS, "command a%00\n",
	           "t.hdr:1: bad escape in command: %00 (a NUL) in a string");
	EXPECT_ERR(SNAP_KEYS, "command a\x7f\n", "t.hdr:1: unescaped control byte 0x7F in command");
	EXPECT_ERR(REC_KEYS, "kernel 3.0 x\n",
	           "t.hdr:1: kernel wants 'FORMAT SOURCE', FORMAT 1.0 or 2.0");
	EXPECT_ERR(REC_KEYS, "kernel 1.0 \n",
	           "t.hdr:1: kernel wants 'FORMAT SOURCE', FORMAT 1.0 or 2.0");
	EXPECT_ERR(REC_KEYS, "pid 5\nkernel 1.0 x\n",
	           "t.hdr:2: a recording of the kernel has no pid");
	EXPECT_ERR(REC_KEYS, "kernel 1.0 x\npid 5\n",
	           "t.hdr:2: a recording of the kernel has no pid");
}

/* The command fills comm but for its NUL: 63 bytes pass, 64 leave comm
 * empty; escapes count as the byte they stand for. */
PT_TEST(test_command_length)
{
	char line[256];
	struct pt_ph h;

	memset(line, 0, sizeof(line));
	strcpy(line, "command ");
	memset(line + 8, 'c', 62);
	strcat(line, "%25");
	h = hdr(SNAP_KEYS, 0);
	PT_CHECK_EQ(feed(&h, line), 0);
	PT_CHECK_EQ(strlen(view.comm), 63);
	PT_CHECK_EQ(view.comm[62], '%');

	strcat(line, "d");
	h = hdr(SNAP_KEYS, 0);
	PT_CHECK_EQ(feed(&h, line), -1);
	PT_CHECK_STR(errbuf, "t.hdr:1: command longer than 63 bytes");
	PT_CHECK_STR(view.comm, "");
}

/* A key without its value is not read: it may come again.  A key whose
 * value is bad was read: it may not. */
PT_TEST(test_what_a_failed_line_leaves)
{
	struct pt_ph h = hdr(SNAP_KEYS, 0);

	PT_CHECK_EQ(feed(&h, "pid"), -1);
	PT_CHECK_EQ(h.seen, 0);
	PT_CHECK_EQ(feed(&h, "pid 7"), 0);
	PT_CHECK_EQ(view.pid, 7);
	PT_CHECK_EQ(feed(&h, "uid x"), -1);
	PT_CHECK_EQ(feed(&h, "uid 1"), -1);
	PT_CHECK_STR(errbuf, "t.hdr:1: duplicated key 'uid'");
}

/* The first key missing, in key order, is the one named; once kernel is
 * read a header needs no pid. */
PT_TEST(test_required_keys)
{
	struct pt_ph h = hdr(SNAP_KEYS, PROC | BIT(PT_PH_TAKEN));

	PT_CHECK_EQ(pt_ph_complete(&h), 0);
	PT_CHECK_EQ(pt_ph_check(&h, &tp), -1);
	PT_CHECK_STR(errbuf, "t.hdr:1: missing required key 'pid'");
	PT_CHECK_EQ(feed(&h, "misuse 0\ncommand x\npid 1\n"), 0);
	PT_CHECK_EQ(pt_ph_check(&h, &tp), -1);
	PT_CHECK_STR(errbuf, "t.hdr:4: missing required key 'uid'");
	PT_CHECK_EQ(feed(&h, "uid 0\n"), 0);
	PT_CHECK_EQ(pt_ph_complete(&h), 0);
	PT_CHECK_EQ(pt_ph_check(&h, &tp), -1);
	PT_CHECK_STR(errbuf, "t.hdr:2: missing required key 'taken'");
	PT_CHECK_EQ(feed(&h, "taken 0\n"), 0);
	PT_CHECK_EQ(pt_ph_complete(&h), 1);
	errbuf[0] = '\0';
	PT_CHECK_EQ(pt_ph_check(&h, &tp), 0);
	PT_CHECK_STR(errbuf, "");

	h = hdr(REC_KEYS, PROC);
	PT_CHECK_EQ(feed(&h, "uid 0\ncommand kernel\n"), 0);
	PT_CHECK_EQ(pt_ph_complete(&h), 0);
	PT_CHECK_EQ(pt_ph_check(&h, &tp), -1);
	PT_CHECK_STR(errbuf, "t.hdr:3: missing required key 'pid'");
	PT_CHECK_EQ(feed(&h, "kernel 1.0 saved"), 0);
	PT_CHECK_EQ(pt_ph_complete(&h), 1);
	PT_CHECK_EQ(pt_ph_check(&h, &tp), 0);
}

int main(void)
{
	PT_RUN(test_every_key_into_its_field);
	PT_RUN(test_only_the_formats_keys);
	PT_RUN(test_rejects);
	PT_RUN(test_command_length);
	PT_RUN(test_what_a_failed_line_leaves);
	PT_RUN(test_required_keys);
	pt_view_free(&view);
	return pt_test_done();
}
