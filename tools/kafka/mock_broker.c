/*
 * mock_broker.c — cdc_mock_broker: librdkafka's mock Kafka cluster in a
 * process of its own, on loopback, driven by line commands on stdin.
 *
 * The mock cluster auto-creates unknown topics on Metadata requests with a
 * fixed partition count (4) that its API cannot change. So that auto-created
 * topics get --partitions partitions, each mock broker sits behind a small
 * Kafka-protocol-aware TCP proxy in this process: it reads the topic names of
 * every Metadata request, creates the missing ones (when the request allows
 * auto-creation) before forwarding it, and rewrites the broker ports in
 * Metadata and FindCoordinator responses so that clients keep talking to
 * the proxies. Everything else is forwarded byte for byte. This is a test
 * tool: it must never be pointed at, or pretend to be, a real cluster.
 */
#define _GNU_SOURCE

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

/* Kafka protocol constants the proxy needs. */
#define API_PRODUCE			0
#define API_METADATA		3
#define API_FIND_COORDINATOR 10
#define MAX_FRAME			(256 * 1024 * 1024)	/* refuse larger frames */
#define MAX_BUFFERED		(64 * 1024 * 1024)	/* stop reading above this */
#define MAX_API_KEY			128

/* A growable byte buffer; bytes [off, len) are pending. */
typedef struct bytebuf
{
	unsigned char *d;
	size_t		off;
	size_t		len;
	size_t		cap;
} bytebuf;

/* A request whose response the proxy rewrites. */
typedef struct pending_req
{
	int32_t		corr;
	int16_t		api_key;
	int16_t		api_version;
} pending_req;

/* One proxied client connection and its upstream (mock broker) side. */
typedef struct proxy_conn
{
	int			broker;			/* index into brokers[] */
	int			cfd;			/* client side */
	int			ufd;			/* upstream side */
	bool		connecting;		/* upstream connect() in progress */
	bytebuf		c_in;			/* from client, not yet framed */
	bytebuf		u_out;			/* to upstream */
	bytebuf		u_in;			/* from upstream, not yet framed */
	bytebuf		c_out;			/* to client */
	pending_req *pend;
	int			npend;
	int			pendcap;
	bool		dead;
} proxy_conn;

/* One mock broker and the proxy listener in front of it. */
typedef struct broker
{
	int32_t		id;
	int			mock_port;
	int			proxy_port;
	int			listen_fd;
	bool		down;
} broker;

/* Process-wide state: one instance, in main(). */
typedef struct state
{
	rd_kafka_t *rk;
	rd_kafka_mock_cluster_t *mcluster;
	int			nbrokers;
	int			default_partitions;
	int			replication_factor;
	broker	   *brokers;
	proxy_conn **conns;
	int			nconns;
	int			conncap;
	char	  **topics;			/* names this process has ensured exist */
	int			ntopics;
	int			topiccap;
	bool		pushed_errors[MAX_API_KEY];
	bool		stdin_open;
	char		line[4096];
	size_t		linelen;
	bool		line_too_long;
	bool		quit;
} state;

static volatile sig_atomic_t got_signal = 0;

/* Records the signal; the main loop sees it when ppoll returns. */
static void
on_signal(int signo)
{
	got_signal = signo;
}

/* Prints a message to stderr, prefixed with the program name. */
static void
logmsg(const char *fmt,...)
{
	va_list		ap;

	fputs("cdc_mock_broker: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* Prints a fatal error and exits with status 1. */
static void
die(const char *fmt,...)
{
	va_list		ap;

	fputs("cdc_mock_broker: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

/* Replies to a control command: exactly one line, flushed. */
static void
reply(const char *fmt,...)
{
	va_list		ap;

	va_start(ap, fmt);
	vfprintf(stdout, fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
	fflush(stdout);
}

/* ---------------------------------------------------------------------
 * Buffers
 * --------------------------------------------------------------------- */

/* Pending byte count. */
static size_t
buf_pending(const bytebuf *b)
{
	return b->len - b->off;
}

/* Makes room for n more bytes at the end; compacts first when worthwhile. */
static void
buf_reserve(bytebuf *b, size_t n)
{
	if (b->off > 0 && (b->off >= b->len / 2 || b->len + n > b->cap))
	{
		memmove(b->d, b->d + b->off, b->len - b->off);
		b->len -= b->off;
		b->off = 0;
	}
	if (b->len + n > b->cap)
	{
		size_t		cap = b->cap ? b->cap : 16384;

		while (cap < b->len + n)
			cap *= 2;
		b->d = realloc(b->d, cap);
		if (b->d == NULL)
			die("out of memory");
		b->cap = cap;
	}
}

/* Appends n bytes. */
static void
buf_append(bytebuf *b, const void *p, size_t n)
{
	buf_reserve(b, n);
	memcpy(b->d + b->len, p, n);
	b->len += n;
}

/* Drops the first n pending bytes. */
static void
buf_consume(bytebuf *b, size_t n)
{
	b->off += n;
	if (b->off == b->len)
		b->off = b->len = 0;
}

/* Frees a buffer's memory. */
static void
buf_free(bytebuf *b)
{
	free(b->d);
	memset(b, 0, sizeof(*b));
}

/* ---------------------------------------------------------------------
 * Kafka wire format reading (bounds-checked; ok turns false on overrun)
 * --------------------------------------------------------------------- */

typedef struct wire
{
	unsigned char *p;
	unsigned char *end;
	bool		ok;
} wire;

/* Skips n bytes. */
static void
wire_skip(wire *w, size_t n)
{
	if (!w->ok || (size_t) (w->end - w->p) < n)
	{
		w->ok = false;
		return;
	}
	w->p += n;
}

/* Reads a big-endian integer of n bytes (n <= 4). */
static int64_t
wire_int(wire *w, int n)
{
	uint32_t	v = 0;

	if (!w->ok || w->end - w->p < n)
	{
		w->ok = false;
		return 0;
	}
	for (int i = 0; i < n; i++)
		v = (v << 8) | *w->p++;
	if (n == 1)
		return (int8_t) v;
	if (n == 2)
		return (int16_t) v;
	return (int32_t) v;
}

/* Reads an unsigned varint (flexible versions). */
static uint64_t
wire_uvarint(wire *w)
{
	uint64_t	v = 0;
	int			shift = 0;

	while (w->ok)
	{
		if (w->p >= w->end || shift > 63)
		{
			w->ok = false;
			return 0;
		}
		unsigned char c = *w->p++;

		v |= (uint64_t) (c & 0x7f) << shift;
		if (!(c & 0x80))
			return v;
		shift += 7;
	}
	return 0;
}

/*
 * Reads a (nullable) string: int16 length, or with compact = true an
 * unsigned varint length + 1. Sets *s and returns the length, -1 for null.
 */
static int
wire_str(wire *w, bool compact, unsigned char **s)
{
	int64_t		len;

	if (compact)
		len = (int64_t) wire_uvarint(w) - 1;
	else
		len = wire_int(w, 2);
	*s = NULL;
	if (!w->ok || len < 0)
		return -1;
	if (len > w->end - w->p)
	{
		w->ok = false;
		return -1;
	}
	*s = w->p;
	w->p += len;
	return (int) len;
}

/* Reads an array count: int32, or with compact = true varint + 1; -1 null. */
static int64_t
wire_arraycnt(wire *w, bool compact)
{
	if (compact)
		return (int64_t) wire_uvarint(w) - 1;
	return wire_int(w, 4);
}

/* Skips a tagged-field section (flexible versions). */
static void
wire_tags(wire *w)
{
	uint64_t	n = wire_uvarint(w);

	for (uint64_t i = 0; i < n && w->ok; i++)
	{
		(void) wire_uvarint(w);
		wire_skip(w, wire_uvarint(w));
	}
}

/* True if the request (and so its response) uses the flexible encoding. */
static bool
api_flexible(int api_key, int api_version)
{
	if (api_key == API_METADATA)
		return api_version >= 9;
	if (api_key == API_FIND_COORDINATOR)
		return api_version >= 3;
	return false;
}

/* ---------------------------------------------------------------------
 * Topics
 * --------------------------------------------------------------------- */

/* True if this process already made sure the topic exists. */
static bool
topic_known(state *st, const char *name)
{
	for (int i = 0; i < st->ntopics; i++)
		if (strcmp(st->topics[i], name) == 0)
			return true;
	return false;
}

/* Remembers a topic name as existing. */
static void
topic_remember(state *st, const char *name)
{
	if (st->ntopics == st->topiccap)
	{
		st->topiccap = st->topiccap ? st->topiccap * 2 : 64;
		st->topics = realloc(st->topics, st->topiccap * sizeof(char *));
		if (st->topics == NULL)
			die("out of memory");
	}
	st->topics[st->ntopics] = strdup(name);
	if (st->topics[st->ntopics] == NULL)
		die("out of memory");
	st->ntopics++;
}

/*
 * Creates a topic in the mock cluster. Returns 0 if it was created or
 * already existed, else the librdkafka error.
 */
static rd_kafka_resp_err_t
topic_ensure(state *st, const char *name, int partitions, bool *created)
{
	rd_kafka_resp_err_t err;

	*created = false;
	err = rd_kafka_mock_topic_create(st->mcluster, name, partitions,
									 st->replication_factor);
	if (err == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS)
		err = RD_KAFKA_RESP_ERR_NO_ERROR;
	else if (err == RD_KAFKA_RESP_ERR_NO_ERROR)
		*created = true;
	if (err == RD_KAFKA_RESP_ERR_NO_ERROR && !topic_known(st, name))
		topic_remember(st, name);
	return err;
}

/* ---------------------------------------------------------------------
 * Proxy: request and response inspection
 * --------------------------------------------------------------------- */

/*
 * Looks at one Metadata request (frame without its size prefix) and
 * creates the topics it names that do not exist yet, with the default
 * partition count, if the request allows auto-creation.
 */
static void
inspect_metadata_request(state *st, wire *w, int version)
{
	bool		flex = api_flexible(API_METADATA, version);
	int64_t		n = wire_arraycnt(w, flex);
	unsigned char *names[256];
	int			lens[256];
	int			nnames = 0;
	bool		allow = true;

	for (int64_t i = 0; i < n && w->ok; i++)
	{
		unsigned char *s;
		int			len;

		if (version >= 10)
			wire_skip(w, 16);	/* topic id */
		len = wire_str(w, flex, &s);
		if (flex)
			wire_tags(w);
		if (s != NULL && len > 0 && len < 250 && nnames < 256)
		{
			names[nnames] = s;
			lens[nnames] = len;
			nnames++;
		}
	}
	if (version >= 4)
		allow = wire_int(w, 1) != 0;
	if (!w->ok || !allow)
		return;

	for (int i = 0; i < nnames; i++)
	{
		char		name[256];
		bool		created;
		rd_kafka_resp_err_t err;

		memcpy(name, names[i], lens[i]);
		name[lens[i]] = '\0';
		if (topic_known(st, name))
			continue;
		err = topic_ensure(st, name, st->default_partitions, &created);
		if (err)
			logmsg("auto-creating topic \"%s\" failed: %s", name, rd_kafka_err2str(err));
		else if (created)
			logmsg("auto-created topic \"%s\" with %d partitions",
				   name, st->default_partitions);
	}
}

/* Rewrites a mock broker port (big-endian int32 at p) to its proxy port. */
static void
patch_port(state *st, unsigned char *p)
{
	int32_t		port = (int32_t) ((uint32_t) p[0] << 24 | (uint32_t) p[1] << 16 |
								  (uint32_t) p[2] << 8 | p[3]);

	for (int i = 0; i < st->nbrokers; i++)
	{
		if (st->brokers[i].mock_port == port)
		{
			uint32_t	np = (uint32_t) st->brokers[i].proxy_port;

			p[0] = np >> 24;
			p[1] = np >> 16;
			p[2] = np >> 8;
			p[3] = np;
			return;
		}
	}
}

/* Reads host and port of a broker entry, patching the port in place. */
static void
patch_host_port(state *st, wire *w, bool flex)
{
	unsigned char *s;

	(void) wire_str(w, flex, &s);	/* host */
	if (w->ok && w->end - w->p >= 4)
		patch_port(st, w->p);
	wire_skip(w, 4);
}

/* Rewrites broker ports in a Metadata response body. */
static void
patch_metadata_response(state *st, wire *w, int version)
{
	bool		flex = api_flexible(API_METADATA, version);
	int64_t		n;

	if (version >= 3)
		wire_skip(w, 4);		/* throttle_time_ms */
	n = wire_arraycnt(w, flex);
	for (int64_t i = 0; i < n && w->ok; i++)
	{
		unsigned char *s;

		wire_skip(w, 4);		/* node_id */
		patch_host_port(st, w, flex);
		if (version >= 1)
			(void) wire_str(w, flex, &s);	/* rack */
		if (flex)
			wire_tags(w);
	}
}

/* Rewrites coordinator ports in a FindCoordinator response body. */
static void
patch_find_coordinator_response(state *st, wire *w, int version)
{
	bool		flex = api_flexible(API_FIND_COORDINATOR, version);
	unsigned char *s;

	if (version >= 1)
		wire_skip(w, 4);		/* throttle_time_ms */
	if (version < 4)
	{
		wire_skip(w, 2);		/* error_code */
		if (version >= 1)
			(void) wire_str(w, flex, &s);	/* error_message */
		wire_skip(w, 4);		/* node_id */
		patch_host_port(st, w, flex);
		return;
	}
	int64_t		n = wire_arraycnt(w, true);

	for (int64_t i = 0; i < n && w->ok; i++)
	{
		(void) wire_str(w, true, &s);	/* key */
		wire_skip(w, 4);		/* node_id */
		patch_host_port(st, w, true);
		wire_skip(w, 2);		/* error_code */
		(void) wire_str(w, true, &s);	/* error_message */
		wire_tags(w);
	}
}

/* Handles one complete request frame from the client and queues it upstream. */
static void
client_frame(state *st, proxy_conn *c, unsigned char *frame, size_t len)
{
	wire		w = {frame + 4, frame + len, true};
	int			api_key = (int) wire_int(&w, 2);
	int			api_version = (int) wire_int(&w, 2);
	int32_t		corr = (int32_t) wire_int(&w, 4);

	if (w.ok && (api_key == API_METADATA || api_key == API_FIND_COORDINATOR))
	{
		unsigned char *s;

		if (c->npend == c->pendcap)
		{
			c->pendcap = c->pendcap ? c->pendcap * 2 : 8;
			c->pend = realloc(c->pend, c->pendcap * sizeof(pending_req));
			if (c->pend == NULL)
				die("out of memory");
		}
		c->pend[c->npend].corr = corr;
		c->pend[c->npend].api_key = (int16_t) api_key;
		c->pend[c->npend].api_version = (int16_t) api_version;
		c->npend++;

		(void) wire_str(&w, false, &s);	/* client_id: never compact */
		if (api_flexible(api_key, api_version))
			wire_tags(&w);
		if (api_key == API_METADATA && w.ok)
			inspect_metadata_request(st, &w, api_version);
	}
	buf_append(&c->u_out, frame, len);
}

/* Handles one complete response frame from upstream and queues it to the client. */
static void
upstream_frame(state *st, proxy_conn *c, unsigned char *frame, size_t len)
{
	wire		w = {frame + 4, frame + len, true};
	int32_t		corr = (int32_t) wire_int(&w, 4);

	for (int i = 0; w.ok && i < c->npend; i++)
	{
		if (c->pend[i].corr != corr)
			continue;

		pending_req pr = c->pend[i];

		c->pend[i] = c->pend[--c->npend];
		if (api_flexible(pr.api_key, pr.api_version))
			wire_tags(&w);		/* response header v1 */
		if (pr.api_key == API_METADATA)
			patch_metadata_response(st, &w, pr.api_version);
		else
			patch_find_coordinator_response(st, &w, pr.api_version);
		if (!w.ok)
			logmsg("could not parse a %s response (v%d); forwarded unchanged",
				   pr.api_key == API_METADATA ? "Metadata" : "FindCoordinator",
				   pr.api_version);
		break;
	}
	buf_append(&c->c_out, frame, len);
}

/*
 * Splits the pending bytes of in into frames (int32 size + payload) and
 * hands each complete one to fn. Returns false on an impossible size.
 */
static bool
split_frames(state *st, proxy_conn *c, bytebuf *in,
			 void (*fn) (state *, proxy_conn *, unsigned char *, size_t))
{
	while (buf_pending(in) >= 4)
	{
		unsigned char *p = in->d + in->off;
		int32_t		size = (int32_t) ((uint32_t) p[0] << 24 | (uint32_t) p[1] << 16 |
									  (uint32_t) p[2] << 8 | p[3]);

		if (size < 0 || size > MAX_FRAME)
			return false;
		if (buf_pending(in) < (size_t) size + 4)
			break;
		fn(st, c, p, (size_t) size + 4);
		buf_consume(in, (size_t) size + 4);
	}
	return true;
}

/* ---------------------------------------------------------------------
 * Proxy: sockets
 * --------------------------------------------------------------------- */

/* Sets O_NONBLOCK on fd. */
static void
set_nonblocking(int fd)
{
	int			fl = fcntl(fd, F_GETFL);

	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		die("fcntl: %s", strerror(errno));
}

/* Opens a listening socket on 127.0.0.1, any port; returns fd, sets *port. */
static int
listen_loopback(int *port)
{
	struct sockaddr_in sa;
	socklen_t	salen = sizeof(sa);
	int			one = 1;
	int			fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		die("socket: %s", strerror(errno));
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sa.sin_port = 0;
	if (bind(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0)
		die("bind: %s", strerror(errno));
	if (listen(fd, 128) < 0)
		die("listen: %s", strerror(errno));
	if (getsockname(fd, (struct sockaddr *) &sa, &salen) < 0)
		die("getsockname: %s", strerror(errno));
	set_nonblocking(fd);
	*port = ntohs(sa.sin_port);
	return fd;
}

/* Accepts a client on broker b's listener and starts connecting upstream. */
static void
accept_client(state *st, int b)
{
	struct sockaddr_in sa;
	int			one = 1;
	int			cfd = accept4(st->brokers[b].listen_fd, NULL, NULL,
							  SOCK_NONBLOCK | SOCK_CLOEXEC);
	int			ufd;
	proxy_conn *c;

	if (cfd < 0)
	{
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			logmsg("accept: %s", strerror(errno));
		return;
	}
	ufd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (ufd < 0)
	{
		logmsg("socket: %s", strerror(errno));
		close(cfd);
		return;
	}
	setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(ufd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sa.sin_port = htons((uint16_t) st->brokers[b].mock_port);

	c = calloc(1, sizeof(*c));
	if (c == NULL)
		die("out of memory");
	c->broker = b;
	c->cfd = cfd;
	c->ufd = ufd;
	if (connect(ufd, (struct sockaddr *) &sa, sizeof(sa)) < 0)
	{
		if (errno != EINPROGRESS)
		{
			logmsg("connecting to mock broker %d: %s", st->brokers[b].id, strerror(errno));
			close(cfd);
			close(ufd);
			free(c);
			return;
		}
		c->connecting = true;
	}
	if (st->nconns == st->conncap)
	{
		st->conncap = st->conncap ? st->conncap * 2 : 16;
		st->conns = realloc(st->conns, st->conncap * sizeof(proxy_conn *));
		if (st->conns == NULL)
			die("out of memory");
	}
	st->conns[st->nconns++] = c;
}

/* Closes both sides of a connection and frees it (the slot is compacted later). */
static void
conn_close(proxy_conn *c)
{
	if (c->cfd >= 0)
		close(c->cfd);
	if (c->ufd >= 0)
		close(c->ufd);
	c->cfd = c->ufd = -1;
	buf_free(&c->c_in);
	buf_free(&c->u_out);
	buf_free(&c->u_in);
	buf_free(&c->c_out);
	free(c->pend);
	c->pend = NULL;
	c->dead = true;
}

/*
 * Reads what is available from fd into in. Returns false when the peer
 * closed or failed.
 */
static bool
read_into(int fd, bytebuf *in)
{
	for (;;)
	{
		ssize_t		n;

		buf_reserve(in, 65536);
		n = read(fd, in->d + in->len, in->cap - in->len);
		if (n > 0)
		{
			in->len += (size_t) n;
			if (buf_pending(in) > MAX_BUFFERED)
				return true;
			continue;
		}
		if (n == 0)
			return false;
		if (errno == EINTR)
			continue;
		return errno == EAGAIN || errno == EWOULDBLOCK;
	}
}

/* Writes what it can of out to fd. Returns false on a write error. */
static bool
write_from(int fd, bytebuf *out)
{
	while (buf_pending(out) > 0)
	{
		ssize_t		n = send(fd, out->d + out->off, buf_pending(out), MSG_NOSIGNAL);

		if (n > 0)
		{
			buf_consume(out, (size_t) n);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return true;
		return false;
	}
	return true;
}

/* Services one connection after poll; marks it dead when either side ends. */
static void
conn_service(state *st, proxy_conn *c, short crev, short urev)
{
	if (c->connecting && (urev & (POLLOUT | POLLERR | POLLHUP)))
	{
		int			err = 0;
		socklen_t	len = sizeof(err);

		getsockopt(c->ufd, SOL_SOCKET, SO_ERROR, &err, &len);
		if (err != 0)
		{
			logmsg("connecting to mock broker %d: %s",
				   st->brokers[c->broker].id, strerror(err));
			conn_close(c);
			return;
		}
		c->connecting = false;
	}

	if (crev & (POLLIN | POLLHUP | POLLERR))
	{
		bool		open = read_into(c->cfd, &c->c_in);

		if (!split_frames(st, c, &c->c_in, client_frame))
		{
			logmsg("client sent an invalid frame size; closing");
			conn_close(c);
			return;
		}
		if (!open)
		{
			conn_close(c);
			return;
		}
	}
	if (!c->connecting && (urev & (POLLIN | POLLHUP | POLLERR)))
	{
		bool		open = read_into(c->ufd, &c->u_in);

		if (!split_frames(st, c, &c->u_in, upstream_frame))
		{
			logmsg("mock broker sent an invalid frame size; closing");
			conn_close(c);
			return;
		}
		if (!open)
		{
			/* mock closed (e.g. broker down): hand over what came first */
			(void) write_from(c->cfd, &c->c_out);
			conn_close(c);
			return;
		}
	}
	if (!c->connecting && !write_from(c->ufd, &c->u_out))
	{
		conn_close(c);
		return;
	}
	if (!write_from(c->cfd, &c->c_out))
		conn_close(c);
}

/* Closes every connection of broker b. */
static void
close_broker_conns(state *st, int b)
{
	for (int i = 0; i < st->nconns; i++)
		if (!st->conns[i]->dead && st->conns[i]->broker == b)
			conn_close(st->conns[i]);
}

/* Frees dead connections and compacts the list. */
static void
reap_conns(state *st)
{
	int			j = 0;

	for (int i = 0; i < st->nconns; i++)
	{
		if (st->conns[i]->dead)
			free(st->conns[i]);
		else
			st->conns[j++] = st->conns[i];
	}
	st->nconns = j;
}

/* ---------------------------------------------------------------------
 * Control commands
 * --------------------------------------------------------------------- */

/* Parses a whole decimal integer in [lo, hi]. */
static bool
parse_int(const char *s, long lo, long hi, long *out)
{
	char	   *end;
	long		v;

	if (s == NULL || *s == '\0')
		return false;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < lo || v > hi)
		return false;
	*out = v;
	return true;
}

/* Resolves an error name (with or without RD_KAFKA_RESP_ERR_) or number. */
static bool
parse_error(const char *s, rd_kafka_resp_err_t *err)
{
	const struct rd_kafka_err_desc *descs;
	size_t		ndescs;
	long		code;

	if (parse_int(s, INT_MIN, INT_MAX, &code))
	{
		*err = (rd_kafka_resp_err_t) code;
		return true;
	}
	if (strncasecmp(s, "RD_KAFKA_RESP_ERR_", 18) == 0)
		s += 18;
	rd_kafka_get_err_descs(&descs, &ndescs);
	for (size_t i = 0; i < ndescs; i++)
	{
		if (descs[i].name != NULL && strcasecmp(descs[i].name, s) == 0)
		{
			*err = descs[i].code;
			return true;
		}
	}
	return false;
}

/* Resolves "all" (-1) or a broker id to a list of broker indexes. */
static bool
parse_broker(state *st, const char *s, int *first, int *last)
{
	long		id;

	if (s != NULL && strcmp(s, "all") == 0)
	{
		*first = 0;
		*last = st->nbrokers - 1;
		return true;
	}
	for (int i = 0; s != NULL && parse_int(s, INT_MIN, INT_MAX, &id) && i < st->nbrokers; i++)
	{
		if (st->brokers[i].id == id)
		{
			*first = *last = i;
			return true;
		}
	}
	return false;
}

static const char help_text[] =
	"commands (one reply line each: ok | error: <text>):\n"
	"  topic <name> <partitions>           create a topic\n"
	"  down <broker-id>|all                drop connections, stop accepting\n"
	"  up <broker-id>|all                  accept connections again\n"
	"  rtt <broker-id>|all <ms>            delay every response by ms\n"
	"  produce-errors <count> <error>      fail the next count Produce requests\n"
	"  request-errors <api-key> <count> <error>  same for any request type\n"
	"  clear-errors                        drop all injected errors\n"
	"  ping                                reply ok\n"
	"  help                                this text (on stderr)\n"
	"  quit                                exit\n"
	"errors: a rd_kafka_resp_err_t name without RD_KAFKA_RESP_ERR_ (e.g.\n"
	"NOT_ENOUGH_REPLICAS, REQUEST_TIMED_OUT, _TRANSPORT) or a number\n";

/* Pushes count copies of err onto the cluster's error stack for api_key. */
static void
push_errors(state *st, int api_key, long count, rd_kafka_resp_err_t err)
{
	rd_kafka_resp_err_t *errs = malloc(sizeof(*errs) * (size_t) count);

	if (errs == NULL)
		die("out of memory");
	for (long i = 0; i < count; i++)
		errs[i] = err;
	rd_kafka_mock_push_request_errors_array(st->mcluster, (int16_t) api_key,
											(size_t) count, errs);
	st->pushed_errors[api_key] = true;
	free(errs);
}

/* Executes one command line and replies. */
static void
run_command(state *st, char *line)
{
	char	   *argv[8];
	int			argc = 0;
	char	   *save = NULL;
	char	   *tok;
	int			first,
				last;
	long		n,
				m;
	rd_kafka_resp_err_t err;

	for (tok = strtok_r(line, " \t\r", &save); tok != NULL && argc < 8;
		 tok = strtok_r(NULL, " \t\r", &save))
		argv[argc++] = tok;
	if (argc == 0)
	{
		reply("error: empty command (try help)");
		return;
	}

	if (strcmp(argv[0], "ping") == 0 && argc == 1)
		reply("ok");
	else if (strcmp(argv[0], "help") == 0 && argc == 1)
	{
		fputs(help_text, stderr);
		fflush(stderr);
		reply("ok");
	}
	else if (strcmp(argv[0], "quit") == 0 && argc == 1)
	{
		st->quit = true;
		reply("ok");
	}
	else if (strcmp(argv[0], "topic") == 0)
	{
		bool		created;

		if (argc != 3 || !parse_int(argv[2], 1, 100000, &n) || strlen(argv[1]) > 249)
		{
			reply("error: usage: topic <name> <partitions> (partitions 1..100000)");
			return;
		}
		err = topic_ensure(st, argv[1], (int) n, &created);
		if (err)
			reply("error: %s", rd_kafka_err2str(err));
		else if (!created)
			reply("error: topic \"%s\" already exists", argv[1]);
		else
			reply("ok");
	}
	else if (strcmp(argv[0], "down") == 0 || strcmp(argv[0], "up") == 0)
	{
		bool		down = argv[0][0] == 'd';

		if (argc != 2 || !parse_broker(st, argv[1], &first, &last))
		{
			reply("error: usage: %s <broker-id>|all (broker ids 1..%d)",
				  argv[0], st->nbrokers);
			return;
		}
		for (int b = first; b <= last; b++)
		{
			err = down ? rd_kafka_mock_broker_set_down(st->mcluster, st->brokers[b].id)
				: rd_kafka_mock_broker_set_up(st->mcluster, st->brokers[b].id);
			if (err)
			{
				reply("error: broker %d: %s", st->brokers[b].id, rd_kafka_err2str(err));
				return;
			}
			st->brokers[b].down = down;
			if (down)
				close_broker_conns(st, b);
		}
		reply("ok");
	}
	else if (strcmp(argv[0], "rtt") == 0)
	{
		if (argc != 3 || !parse_broker(st, argv[1], &first, &last) ||
			!parse_int(argv[2], 0, 3600000, &n))
		{
			reply("error: usage: rtt <broker-id>|all <ms>");
			return;
		}
		for (int b = first; b <= last; b++)
		{
			err = rd_kafka_mock_broker_set_rtt(st->mcluster, st->brokers[b].id, (int) n);
			if (err)
			{
				reply("error: broker %d: %s", st->brokers[b].id, rd_kafka_err2str(err));
				return;
			}
		}
		reply("ok");
	}
	else if (strcmp(argv[0], "produce-errors") == 0)
	{
		if (argc != 3 || !parse_int(argv[1], 1, 1000000, &n))
		{
			reply("error: usage: produce-errors <count 1..1000000> <error-name-or-code>");
			return;
		}
		if (!parse_error(argv[2], &err))
		{
			reply("error: unknown error \"%s\" (use a rd_kafka_resp_err_t name without RD_KAFKA_RESP_ERR_, or a number)", argv[2]);
			return;
		}
		push_errors(st, API_PRODUCE, n, err);
		reply("ok");
	}
	else if (strcmp(argv[0], "request-errors") == 0)
	{
		if (argc != 4 || !parse_int(argv[1], 0, MAX_API_KEY - 1, &m) ||
			!parse_int(argv[2], 1, 1000000, &n))
		{
			reply("error: usage: request-errors <api-key 0..%d> <count> <error>", MAX_API_KEY - 1);
			return;
		}
		if (!parse_error(argv[3], &err))
		{
			reply("error: unknown error \"%s\"", argv[3]);
			return;
		}
		push_errors(st, (int) m, n, err);
		reply("ok");
	}
	else if (strcmp(argv[0], "clear-errors") == 0 && argc == 1)
	{
		for (int k = 0; k < MAX_API_KEY; k++)
		{
			if (st->pushed_errors[k] || k == API_PRODUCE)
				rd_kafka_mock_clear_request_errors(st->mcluster, (int16_t) k);
			st->pushed_errors[k] = false;
		}
		reply("ok");
	}
	else
		reply("error: unknown command or wrong arguments: \"%s\" (try help)", argv[0]);
}

/* Reads available stdin bytes and runs each complete line. */
static void
read_commands(state *st)
{
	char		chunk[4096];
	ssize_t		n = read(STDIN_FILENO, chunk, sizeof(chunk));

	if (n < 0)
	{
		if (errno != EINTR && errno != EAGAIN)
		{
			logmsg("reading stdin: %s; commands disabled", strerror(errno));
			st->stdin_open = false;
		}
		return;
	}
	if (n == 0)
	{
		/* EOF: keep running until a signal (scripts background us with </dev/null) */
		st->stdin_open = false;
		if (st->linelen > 0 && !st->line_too_long)
		{
			st->line[st->linelen] = '\0';
			run_command(st, st->line);
		}
		st->linelen = 0;
		return;
	}
	for (ssize_t i = 0; i < n && !st->quit; i++)
	{
		if (chunk[i] == '\n')
		{
			if (st->line_too_long)
				reply("error: command line too long");
			else
			{
				st->line[st->linelen] = '\0';
				run_command(st, st->line);
			}
			st->linelen = 0;
			st->line_too_long = false;
		}
		else if (st->linelen + 1 < sizeof(st->line))
			st->line[st->linelen++] = chunk[i];
		else
			st->line_too_long = true;
	}
}

/* ---------------------------------------------------------------------
 * Startup
 * --------------------------------------------------------------------- */

/* Writes text to path atomically (temporary file + rename). */
static void
write_file_atomically(const char *path, const char *text)
{
	size_t		len = strlen(path) + 32;
	char	   *tmp = malloc(len);
	FILE	   *f;

	if (tmp == NULL)
		die("out of memory");
	snprintf(tmp, len, "%s.tmp.%ld", path, (long) getpid());
	f = fopen(tmp, "w");
	if (f == NULL)
		die("cannot write %s: %s", tmp, strerror(errno));
	if (fprintf(f, "%s\n", text) < 0 || fflush(f) != 0 || fsync(fileno(f)) != 0 ||
		fclose(f) != 0)
		die("cannot write %s: %s", tmp, strerror(errno));
	if (rename(tmp, path) != 0)
		die("cannot rename %s to %s: %s", tmp, path, strerror(errno));
	free(tmp);
}

/* Finds each mock broker's id and port from a Metadata request. */
static void
discover_brokers(state *st)
{
	char		errstr[512];
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	rd_kafka_t *rk;
	const struct rd_kafka_metadata *md;
	rd_kafka_resp_err_t err;

	if (rd_kafka_conf_set(conf, "bootstrap.servers",
						  rd_kafka_mock_cluster_bootstraps(st->mcluster),
						  errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK ||
		rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK)
		die("configuring the discovery client: %s", errstr);
	rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
	if (rk == NULL)
		die("creating the discovery client: %s", errstr);
	err = rd_kafka_metadata(rk, 0, NULL, &md, 10000);
	if (err)
		die("reading the mock cluster's metadata: %s", rd_kafka_err2str(err));
	if (md->broker_cnt != st->nbrokers)
		die("mock cluster reports %d brokers, expected %d", md->broker_cnt, st->nbrokers);
	for (int i = 0; i < md->broker_cnt; i++)
	{
		st->brokers[i].id = md->brokers[i].id;
		st->brokers[i].mock_port = md->brokers[i].port;
	}
	rd_kafka_metadata_destroy(md);
	rd_kafka_destroy(rk);
}

/* Prints the command-line usage. */
static void
usage(FILE *out)
{
	fputs("usage: cdc_mock_broker [--brokers N] [--partitions N] [--port-file PATH]\n"
		  "  --brokers N      mock brokers (default 1)\n"
		  "  --partitions N   partitions of auto-created topics (default 4)\n"
		  "  --port-file PATH write the bootstrap string there once ready\n"
		  "Prints bootstrap=<host:port,...> on stdout, then reads commands from\n"
		  "stdin (one reply line each; send 'help'). Runs until quit, SIGTERM or\n"
		  "SIGINT; stdin EOF does not stop it.\n", out);
}

/* Starts the cluster and its proxies, then serves commands and connections. */
int
main(int argc, char **argv)
{
	state		st;
	const char *port_file = NULL;
	char		errstr[512];
	rd_kafka_conf_t *conf;
	sigset_t	block,
				orig;
	struct sigaction sa;
	char	   *bootstrap;
	size_t		bslen;
	struct pollfd *pfds = NULL;
	int			pfdcap = 0;

	memset(&st, 0, sizeof(st));
	st.nbrokers = 1;
	st.default_partitions = 4;

	for (int i = 1; i < argc; i++)
	{
		long		v;

		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
		{
			usage(stdout);
			return 0;
		}
		if (i + 1 >= argc)
		{
			usage(stderr);
			return 2;
		}
		if (strcmp(argv[i], "--brokers") == 0 && parse_int(argv[i + 1], 1, 64, &v))
			st.nbrokers = (int) v;
		else if (strcmp(argv[i], "--partitions") == 0 && parse_int(argv[i + 1], 1, 100000, &v))
			st.default_partitions = (int) v;
		else if (strcmp(argv[i], "--port-file") == 0)
			port_file = argv[i + 1];
		else
		{
			fprintf(stderr, "cdc_mock_broker: bad option or value: %s %s\n", argv[i], argv[i + 1]);
			usage(stderr);
			return 2;
		}
		i++;
	}
	st.replication_factor = st.nbrokers < 3 ? st.nbrokers : 3;

	/*
	 * Block the termination signals before librdkafka starts any thread, so
	 * they reach only this thread, and only inside ppoll().
	 */
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	if (sigprocmask(SIG_BLOCK, &block, &orig) != 0)
		die("sigprocmask: %s", strerror(errno));
	sigdelset(&orig, SIGINT);
	sigdelset(&orig, SIGTERM);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	conf = rd_kafka_conf_new();
	/* the mock cluster's own handle connects nowhere: keep its warning quiet */
	if (rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK)
		die("%s", errstr);
	st.rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
	if (st.rk == NULL)
		die("rd_kafka_new: %s", errstr);
	st.mcluster = rd_kafka_mock_cluster_new(st.rk, st.nbrokers);
	if (st.mcluster == NULL)
		die("rd_kafka_mock_cluster_new failed");

	st.brokers = calloc(st.nbrokers, sizeof(broker));
	if (st.brokers == NULL)
		die("out of memory");
	discover_brokers(&st);

	bslen = (size_t) st.nbrokers * 24 + 1;
	bootstrap = calloc(1, bslen);
	if (bootstrap == NULL)
		die("out of memory");
	for (int i = 0; i < st.nbrokers; i++)
	{
		st.brokers[i].listen_fd = listen_loopback(&st.brokers[i].proxy_port);
		snprintf(bootstrap + strlen(bootstrap), bslen - strlen(bootstrap), "%s127.0.0.1:%d",
				 i ? "," : "", st.brokers[i].proxy_port);
	}

	if (port_file != NULL)
		write_file_atomically(port_file, bootstrap);
	printf("bootstrap=%s\n", bootstrap);
	fflush(stdout);

	set_nonblocking(STDIN_FILENO);
	st.stdin_open = true;

	while (!st.quit && !got_signal)
	{
		int			n = 0;
		int			first_conn;
		int			r;

		if (pfdcap < 1 + st.nbrokers + 2 * st.nconns)
		{
			pfdcap = 2 * (1 + st.nbrokers + 2 * st.nconns);
			pfds = realloc(pfds, pfdcap * sizeof(struct pollfd));
			if (pfds == NULL)
				die("out of memory");
		}
		pfds[n].fd = st.stdin_open ? STDIN_FILENO : -1;
		pfds[n++].events = POLLIN;
		for (int b = 0; b < st.nbrokers; b++)
		{
			pfds[n].fd = st.brokers[b].down ? -1 : st.brokers[b].listen_fd;
			pfds[n++].events = POLLIN;
		}
		first_conn = n;
		for (int i = 0; i < st.nconns; i++)
		{
			proxy_conn *c = st.conns[i];
			short		cev = 0,
						uev = 0;

			/* read a side only while the other direction is not backed up */
			if (buf_pending(&c->u_out) < MAX_BUFFERED)
				cev |= POLLIN;
			if (buf_pending(&c->c_out) > 0)
				cev |= POLLOUT;
			if (c->connecting)
				uev = POLLOUT;
			else
			{
				if (buf_pending(&c->c_out) < MAX_BUFFERED)
					uev |= POLLIN;
				if (buf_pending(&c->u_out) > 0)
					uev |= POLLOUT;
			}
			pfds[n].fd = c->cfd;
			pfds[n++].events = cev;
			pfds[n].fd = c->ufd;
			pfds[n++].events = uev;
		}

		r = ppoll(pfds, n, NULL, &orig);
		if (r < 0)
		{
			if (errno == EINTR)
				continue;
			die("ppoll: %s", strerror(errno));
		}

		if (pfds[0].revents)
			read_commands(&st);
		for (int i = 0; i < st.nconns; i++)
		{
			proxy_conn *c = st.conns[i];

			if (!c->dead && (pfds[first_conn + 2 * i].revents || pfds[first_conn + 2 * i + 1].revents))
				conn_service(&st, c, pfds[first_conn + 2 * i].revents,
							 pfds[first_conn + 2 * i + 1].revents);
		}
		reap_conns(&st);
		for (int b = 0; b < st.nbrokers; b++)
			if (pfds[1 + b].revents & POLLIN)
				accept_client(&st, b);
	}

	if (got_signal)
		logmsg("got signal %d, exiting", (int) got_signal);
	for (int i = 0; i < st.nconns; i++)
		if (!st.conns[i]->dead)
			conn_close(st.conns[i]);
	reap_conns(&st);
	for (int b = 0; b < st.nbrokers; b++)
		close(st.brokers[b].listen_fd);
	rd_kafka_mock_cluster_destroy(st.mcluster);
	rd_kafka_destroy(st.rk);
	if (port_file != NULL)
		unlink(port_file);
	for (int i = 0; i < st.ntopics; i++)
		free(st.topics[i]);
	free(st.topics);
	free(st.conns);
	free(st.brokers);
	free(pfds);
	free(bootstrap);
	return 0;
}
