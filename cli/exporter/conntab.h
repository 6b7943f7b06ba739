/*
 * conntab.h - the open connections of the exporter's HTTP server: a table
 * of fixed size, a deadline per connection, and which one to give up when
 * the table is full.  No I/O here: the server (httpd.c) closes the
 * descriptors; the tests drive the table with a clock of their own.
 *
 * A connection is in one of three states, each with its own list, oldest
 * first:
 *   READ    collecting the request head; deadline read_ms after the
 *           connection was taken, never extended (bytes trickling in do
 *           not keep a connection alive);
 *   WRITE   sending the response; deadline write_ms after the last
 *           progress (each progress moves it to the end of its list);
 *   LINGER  response sent, our side shut down, draining what the client
 *           still sends until it closes; deadline linger_ms after that.
 * Every deadline of a state is "when it entered its list + that state's
 * constant", so each list is also in deadline order: the next deadline and
 * the expired connections are found at the heads in O(1).
 *
 * When the table is full a new connection takes the place of, in order:
 * the oldest lingering connection (its response is already sent), else
 * the oldest reading one (a client that connected and has not asked
 * anything complete yet), else the writer that made no progress for the
 * longest.  A scraper that connects and asks at once is thus never the
 * one given up, however many idle or slow connections others hold.
 */
#ifndef PT_CONNTAB_H
#define PT_CONNTAB_H

#include <stddef.h>
#include <stdint.h>

enum pt_conn_state { PT_CONN_FREE, PT_CONN_READ, PT_CONN_WRITE, PT_CONN_LINGER };

struct pt_conn {
	int fd;
	uint32_t gen; /* bumped each time the slot is freed: stale keys miss */
	enum pt_conn_state state;
	int64_t deadline;		/* ms, on the caller's clock */
	struct pt_conn *prev, *next;	/* in the list of its state (next: free list) */
	char *in;			/* the request head so far (malloc'd on first byte) */
	size_t inlen;
	char *out;			/* the response (malloc'd), sent up to outoff */
	size_t outlen, outoff;
};

struct pt_conn_limits {
	size_t max_conns;
	int64_t read_ms, write_ms, linger_ms;
};

struct pt_conntab {
	struct pt_conn_limits lim;
	struct pt_conn *slots; /* lim.max_conns of them */
	struct pt_conn *free;
	struct {
		struct pt_conn *head, *tail;
	} list[4]; /* by state; list[PT_CONN_FREE] unused */
	size_t n;  /* connections in use */
};

/* A table for lim->max_conns (at least 1) connections: 0, or -1 when out
 * of memory. */
int pt_conntab_init(struct pt_conntab *t, const struct pt_conn_limits *lim);

/* Frees the table and the buffers of its connections (not their fds). */
void pt_conntab_free(struct pt_conntab *t);

/* Whether every slot is taken. */
int pt_conntab_full(const struct pt_conntab *t);

/* The connection to give up first when room is needed (see above), or NULL
 * with no connection. */
struct pt_conn *pt_conntab_victim(const struct pt_conntab *t);

/* Takes fd as a new connection in state READ at time now; NULL when the
 * table is full (close the victim first). */
struct pt_conn *pt_conntab_add(struct pt_conntab *t, int fd, int64_t now);

/* Moves c to state s (WRITE or LINGER), at the end of that list, with the
 * state's deadline counted from now.  WRITE again: progress was made. */
void pt_conntab_set(struct pt_conntab *t, struct pt_conn *c, enum pt_conn_state s, int64_t now);

/* Frees c's slot and its buffers; the caller has closed c->fd. */
void pt_conntab_remove(struct pt_conntab *t, struct pt_conn *c);

/* The earliest deadline of all connections, or INT64_MAX with none. */
int64_t pt_conntab_next_deadline(const struct pt_conntab *t);

/* A connection whose deadline is at or before now, or NULL. */
struct pt_conn *pt_conntab_expired(const struct pt_conntab *t, int64_t now);

/* The oldest writer (least recent progress), or NULL. */
struct pt_conn *pt_conntab_oldest_writer(const struct pt_conntab *t);

/* A key naming c until its slot is reused (for epoll's data field), and
 * the connection a key names: NULL if the slot was freed since. */
uint64_t pt_conntab_key(const struct pt_conntab *t, const struct pt_conn *c);
struct pt_conn *pt_conntab_get(const struct pt_conntab *t, uint64_t key);

#endif /* PT_CONNTAB_H */
