/*
 * e2e_probe.c — the Kafka side of the end-to-end benchmark (bench/e2e/run.sh).
 *
 *   e2e_probe count   --brokers B --topic T [--expect N] [--timeout S]
 *       Sums the high watermarks of every partition of topic T (= how many
 *       messages the topic holds: offsets start at 0 and the mock broker
 *       never rewinds them, even when it drops old batches). Without
 *       --expect prints the sum once; with --expect polls every 10 ms until
 *       the sum reaches N and prints "reached <epoch_s> <sum>", or
 *       "timeout <epoch_s> <sum>" (exit 2) after S seconds (default 300).
 *
 *   e2e_probe latency --brokers B --topic T[,T...] --format cdc|wal2json
 *                     [--ready-file F] [--skip-before-us U] [--idle-exit MS]
 *                     [--max-wait S] [--timeline FILE]
 *       Reads every partition of each T from the beginning and, for each change
 *       event, records (time the message came out of rd_kafka_consumer_poll)
 *       minus (the transaction's commit time carried in the message), in
 *       microseconds, both on CLOCK_REALTIME of this host:
 *         cdc:      Envelope.source (field 5) .commit_time_us (field 9), parsed
 *                   by hand from the protobuf wire format;
 *         wal2json: the "timestamp" of each format-version 2 line (given with
 *                   include-timestamp=1); only "I"/"U"/"D" lines are events,
 *                   other lines ("B", "C", "M") are counted apart.
 *       Events committed before --skip-before-us (µs since 1970) are counted
 *       as skipped (warm-up). Creates F once its partitions are assigned.
 *       Stops after --idle-exit ms (default 3000) without a message once one
 *       arrived, on SIGTERM/SIGINT, or after --max-wait s (default 600), and
 *       prints one line:
 *         messages=N events=E other=O skipped=S bad=X p50_us=.. p90_us=..
 *         p99_us=.. p999_us=.. max_us=.. mean_us=.. first_us=.. last_us=..
 *       (first/last: receive times of the first and last event; percentiles
 *       by nearest rank). --timeline writes one line per second of commit
 *       time: epoch_second events p50_us p99_us max_us.
 *
 *   e2e_probe produce --brokers B --topic T [--rate R] [--seconds S]
 *       The Kafka hop alone: R messages/s for S s, each a minimal Envelope
 *       whose source.commit_time_us is the time it was handed to librdkafka,
 *       with the worker's producer settings (idempotence, acks=all,
 *       murmur2_random, linger.ms=5 unless -X overrides). Prints
 *       "sent=N failed=F rate=R".
 *
 *   -X name=value sets a librdkafka property (any command, applied last).
 *
 * No consumer group is joined and nothing is committed: assign() only.
 */
#define _GNU_SOURCE

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>

static volatile sig_atomic_t stop_requested = 0;

static void
on_signal(int signo)
{
	(void) signo;
	stop_requested = 1;
}

static void
die(const char *fmt, const char *arg)
{
	fprintf(stderr, "e2e_probe: ");
	fprintf(stderr, fmt, arg);
	fputc('\n', stderr);
	exit(1);
}

static int64_t
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void
conf_set(rd_kafka_conf_t *conf, const char *k, const char *v)
{
	char		err[512];

	if (rd_kafka_conf_set(conf, k, v, err, sizeof(err)) != RD_KAFKA_CONF_OK)
		die("bad property: %s", err);
}

/* librdkafka's logs go to stderr only when they are warnings or worse. */
static void
log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
	(void) rk;
	if (level <= 4)
		fprintf(stderr, "e2e_probe: librdkafka %s: %s\n", fac, buf);
}

/* -X name=value properties from the command line, applied last. */
static const char *extra_props[64];
static int	n_extra_props = 0;

static rd_kafka_t *
make_client(rd_kafka_type_t type, const char *brokers)
{
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	char		err[512];
	rd_kafka_t *rk;

	conf_set(conf, "bootstrap.servers", brokers);
	conf_set(conf, "client.id", "e2e_probe");
	if (type == RD_KAFKA_CONSUMER)
	{
		conf_set(conf, "group.id", "e2e_probe");	/* needed by assign(); never joined */
		conf_set(conf, "enable.auto.commit", "false");
		conf_set(conf, "enable.partition.eof", "false");
		conf_set(conf, "allow.auto.create.topics", "true");
		/* latency: answer a fetch as soon as one byte is there, and do not
		 * park an empty fetch for long (the mock broker honours neither
		 * very precisely; see README) */
		conf_set(conf, "fetch.wait.max.ms", "10");
		conf_set(conf, "fetch.min.bytes", "1");
		conf_set(conf, "fetch.error.backoff.ms", "10");
	}
	for (int i = 0; i < n_extra_props; i++)
	{
		char	   *kv = strdup(extra_props[i]);
		char	   *eq = strchr(kv, '=');

		if (eq == NULL)
			die("-X %s: write name=value", kv);
		*eq = '\0';
		conf_set(conf, kv, eq + 1);
		free(kv);
	}
	rd_kafka_conf_set_log_cb(conf, log_cb);
	rk = rd_kafka_new(type, conf, err, sizeof(err));
	if (rk == NULL)
		die("rd_kafka_new: %s", err);
	return rk;
}

/* Partition count of topic, waiting up to timeout_ms for it to exist; 0 if not. */
static int
partition_count(rd_kafka_t *rk, const char *topic, int timeout_ms)
{
	rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
	int64_t		until = now_us() + (int64_t) timeout_ms * 1000;
	int			n = 0;

	for (;;)
	{
		const struct rd_kafka_metadata *md = NULL;

		if (rd_kafka_metadata(rk, 0, rkt, &md, 2000) == RD_KAFKA_RESP_ERR_NO_ERROR)
		{
			if (md->topic_cnt == 1 && md->topics[0].err == RD_KAFKA_RESP_ERR_NO_ERROR)
				n = md->topics[0].partition_cnt;
			rd_kafka_metadata_destroy(md);
		}
		if (n > 0 || stop_requested || now_us() >= until)
			break;
		usleep(100 * 1000);
	}
	rd_kafka_topic_destroy(rkt);
	return n;
}

/* Sum of the high watermarks, or -1 if a query failed. */
static int64_t
watermark_sum(rd_kafka_t *rk, const char *topic, int nparts)
{
	int64_t		sum = 0;

	for (int p = 0; p < nparts; p++)
	{
		int64_t		lo,
					hi;

		if (rd_kafka_query_watermark_offsets(rk, topic, p, &lo, &hi, 5000) != RD_KAFKA_RESP_ERR_NO_ERROR)
			return -1;
		sum += hi;
	}
	return sum;
}

static int
cmd_count(const char *brokers, const char *topic, int64_t expect, int timeout_s)
{
	rd_kafka_t *rk = make_client(RD_KAFKA_PRODUCER, brokers);
	int64_t		deadline = now_us() + (int64_t) timeout_s * 1000000;
	int			nparts = partition_count(rk, topic, expect < 0 ? 5000 : timeout_s * 1000);
	int64_t		sum = 0;
	int			rc = 0;

	if (nparts == 0)
	{
		/* topic never appeared: it holds nothing */
		if (expect < 0)
			printf("0\n");
		else
		{
			printf("timeout %.6f 0\n", now_us() / 1e6);
			rc = expect == 0 ? 0 : 2;
		}
		rd_kafka_destroy(rk);
		return rc;
	}
	for (;;)
	{
		int64_t		s = watermark_sum(rk, topic, nparts);

		if (s >= 0)
			sum = s;
		if (expect < 0)
		{
			printf("%lld\n", (long long) sum);
			break;
		}
		if (sum >= expect)
		{
			printf("reached %.6f %lld\n", now_us() / 1e6, (long long) sum);
			break;
		}
		if (now_us() >= deadline || stop_requested)
		{
			printf("timeout %.6f %lld\n", now_us() / 1e6, (long long) sum);
			rc = 2;
			break;
		}
		usleep(10 * 1000);
	}
	rd_kafka_destroy(rk);
	return rc;
}

/* ---- protobuf wire format: just enough to find Envelope.source.commit_time_us */

static bool
read_varint(const uint8_t **p, const uint8_t *end, uint64_t *out)
{
	uint64_t	v = 0;

	for (int shift = 0; shift < 64; shift += 7)
	{
		if (*p >= end)
			return false;
		uint8_t		b = *(*p)++;

		v |= (uint64_t) (b & 0x7f) << shift;
		if (!(b & 0x80))
		{
			*out = v;
			return true;
		}
	}
	return false;
}

/* Skips one field of the given wire type; false if malformed. */
static bool
skip_field(const uint8_t **p, const uint8_t *end, int wt)
{
	uint64_t	len;

	switch (wt)
	{
		case 0:
			return read_varint(p, end, &len);
		case 1:
			if (end - *p < 8)
				return false;
			*p += 8;
			return true;
		case 2:
			if (!read_varint(p, end, &len) || (uint64_t) (end - *p) < len)
				return false;
			*p += len;
			return true;
		case 5:
			if (end - *p < 4)
				return false;
			*p += 4;
			return true;
		default:
			return false;
	}
}

/* Finds field `want` (wire type wt) of the message [p, end); on success
 * vp/vend delimit a length-delimited value, or *var holds a varint. The
 * last occurrence wins, as protobuf merging does for scalars. */
static bool
find_field(const uint8_t *p, const uint8_t *end, uint32_t want, int want_wt,
		   const uint8_t **vp, const uint8_t **vend, uint64_t *var)
{
	bool		found = false;

	while (p < end)
	{
		uint64_t	tag;

		if (!read_varint(&p, end, &tag))
			return false;
		uint32_t	field = (uint32_t) (tag >> 3);
		int			wt = (int) (tag & 7);

		if (field == want && wt == want_wt)
		{
			if (wt == 0)
			{
				if (!read_varint(&p, end, var))
					return false;
			}
			else if (wt == 2)
			{
				uint64_t	len;

				if (!read_varint(&p, end, &len) || (uint64_t) (end - p) < len)
					return false;
				*vp = p;
				*vend = p + len;
				p += len;
			}
			found = true;
			continue;
		}
		if (!skip_field(&p, end, wt))
			return false;
	}
	return found;
}

/* 1: event with commit time; 0: not an event (other); -1: unparsable. */
static int
cdc_commit_time(const void *payload, size_t len, int64_t *commit_us)
{
	const uint8_t *p = payload,
			   *end = p + len,
			   *sp,
			   *send;
	uint64_t	v;

	if (payload == NULL)
		return 0;				/* tombstone */
	if (!find_field(p, end, 5, 2, &sp, &send, &v))
		return -1;
	if (!find_field(sp, send, 9, 0, NULL, NULL, &v))
		return -1;
	*commit_us = (int64_t) v;
	return 1;
}

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian). */
static int64_t
days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int64_t		era = (y >= 0 ? y : y - 399) / 400;
	unsigned	yoe = (unsigned) (y - era * 400);
	unsigned	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	unsigned	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

	return era * 146097 + (int64_t) doe - 719468;
}

/* "2024-05-01 10:00:00.123456+00" (PostgreSQL's ISO output, any offset) -> µs. */
static bool
parse_pg_timestamptz(const char *s, const char *end, int64_t *out)
{
	int			y,
				mo,
				d,
				h,
				mi,
				se,
				n = 0;
	int64_t		frac = 0;
	int			digits = 0;
	const char *p;

	if (sscanf(s, "%4d-%2d-%2d %2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &se, &n) != 6)
		return false;
	p = s + n;
	if (p < end && *p == '.')
	{
		p++;
		while (p < end && *p >= '0' && *p <= '9')
		{
			if (digits < 6)
			{
				frac = frac * 10 + (*p - '0');
				digits++;
			}
			p++;
		}
		while (digits < 6)
		{
			frac *= 10;
			digits++;
		}
	}
	int64_t		off_s = 0;

	if (p < end && (*p == '+' || *p == '-'))
	{
		int			sign = *p == '-' ? -1 : 1,
					oh = 0,
					om = 0,
					os = 0;

		p++;
		if (sscanf(p, "%2d", &oh) != 1)
			return false;
		p += 2;
		if (p < end && *p == ':')
		{
			sscanf(p + 1, "%2d", &om);
			p += 3;
			if (p < end && *p == ':')
				sscanf(p + 1, "%2d", &os);
		}
		off_s = sign * (oh * 3600 + om * 60 + os);
	}
	int64_t		secs = days_from_civil(y, (unsigned) mo, (unsigned) d) * 86400
		+ h * 3600 + mi * 60 + se - off_s;

	*out = secs * 1000000 + frac;
	return true;
}

static int
wal2json_commit_time(const char *payload, size_t len, int64_t *commit_us)
{
	const char *end = payload + len;
	const char *a,
			   *t;
	char		action;

	if (payload == NULL)
		return -1;
	a = memmem(payload, len, "\"action\":\"", 10);
	if (a == NULL || a + 11 > end)
		return -1;
	action = a[10];
	if (action != 'I' && action != 'U' && action != 'D')
		return 0;
	t = memmem(payload, len, "\"timestamp\":\"", 13);
	if (t == NULL)
		return -1;
	t += 13;
	return parse_pg_timestamptz(t, end, commit_us) ? 1 : -1;
}

static int
cmp_i64(const void *a, const void *b)
{
	int64_t		x = *(const int64_t *) a,
				y = *(const int64_t *) b;

	return (x > y) - (x < y);
}

static int64_t
pct(const int64_t *v, size_t n, double q)
{
	/* nearest rank */
	size_t		k;

	if (n == 0)
		return -1;
	k = (size_t) (q * n + 0.999999999);
	if (k < 1)
		k = 1;
	if (k > n)
		k = n;
	return v[k - 1];
}

/*
 * One line per second of commit time: second (epoch), events, p50_us,
 * p99_us, max_us. Events arrive in about commit order, but not exactly
 * (partitions), so group by a sort on the second.
 */
static void
write_timeline(const char *path, const int64_t *lat, const int64_t *csec, size_t n)
{
	FILE	   *f = fopen(path, "w");
	int64_t    *pairs,
			   *buf;
	size_t		i = 0;

	if (f == NULL)
		die("cannot create %s", path);
	pairs = malloc((n ? n : 1) * 2 * sizeof(int64_t));
	buf = malloc((n ? n : 1) * sizeof(int64_t));
	if (pairs == NULL || buf == NULL)
		die("%s", "out of memory");
	for (i = 0; i < n; i++)
	{
		pairs[2 * i] = csec[i];
		pairs[2 * i + 1] = lat[i];
	}
	qsort(pairs, n, 2 * sizeof(int64_t), cmp_i64);	/* by second (first member) */
	i = 0;
	while (i < n)
	{
		size_t		j = i,
					k = 0;

		while (j < n && pairs[2 * j] == pairs[2 * i])
			buf[k++] = pairs[2 * j++ + 1];
		qsort(buf, k, sizeof(*buf), cmp_i64);
		fprintf(f, "%lld %zu %lld %lld %lld\n", (long long) pairs[2 * i], k,
				(long long) pct(buf, k, 0.50), (long long) pct(buf, k, 0.99),
				(long long) buf[k - 1]);
		i = j;
	}
	free(pairs);
	free(buf);
	fclose(f);
}

static int
cmd_latency(const char *brokers, const char *topic, bool wal2json, const char *ready_file,
			int64_t skip_before_us, int idle_exit_ms, int max_wait_s, const char *timeline)
{
	rd_kafka_t *rk = make_client(RD_KAFKA_CONSUMER, brokers);
	rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(16);
	int64_t	   *lat = NULL;
	int64_t	   *csec = NULL;		/* commit second of each latency, for --timeline */
	size_t		nlat = 0,
				cap = 0;
	long long	messages = 0,
				other = 0,
				skipped = 0,
				bad = 0;
	int64_t		deadline;
	int64_t		last_msg = 0,
				first_ev = 0,
				last_ev = 0;
	double		sum = 0;
	char	   *topics = strdup(topic),
			   *save = NULL;

	/* every partition of every topic of the comma-separated list */
	for (char *t = strtok_r(topics, ",", &save); t != NULL; t = strtok_r(NULL, ",", &save))
	{
		int			nparts = partition_count(rk, t, 30000);

		if (nparts == 0)
			die("topic %s did not appear within 30 s", t);
		for (int p = 0; p < nparts; p++)
			rd_kafka_topic_partition_list_add(parts, t, p)->offset = RD_KAFKA_OFFSET_BEGINNING;
	}
	free(topics);
	if (rd_kafka_assign(rk, parts) != RD_KAFKA_RESP_ERR_NO_ERROR)
		die("assign failed for %s", topic);
	if (ready_file != NULL)
	{
		FILE	   *f = fopen(ready_file, "w");

		if (f == NULL)
			die("cannot create %s", ready_file);
		fprintf(f, "%d\n", parts->cnt);
		fclose(f);
	}
	rd_kafka_topic_partition_list_destroy(parts);
	deadline = now_us() + (int64_t) max_wait_s * 1000000;

	while (!stop_requested)
	{
		rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 50);
		int64_t		t = now_us();

		if (m == NULL)
		{
			if (last_msg != 0 && t - last_msg >= (int64_t) idle_exit_ms * 1000)
				break;
			if (t >= deadline)
				break;
			continue;
		}
		if (m->err)
		{
			if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
				fprintf(stderr, "e2e_probe: consume error: %s\n", rd_kafka_message_errstr(m));
			rd_kafka_message_destroy(m);
			continue;
		}
		messages++;
		last_msg = t;

		int64_t		commit_us = 0;
		int			r = wal2json ? wal2json_commit_time(m->payload, m->len, &commit_us)
			: cdc_commit_time(m->payload, m->len, &commit_us);

		if (r < 0)
			bad++;
		else if (r == 0)
			other++;
		else if (commit_us < skip_before_us)
			skipped++;
		else
		{
			if (nlat == cap)
			{
				cap = cap ? cap * 2 : 65536;
				lat = realloc(lat, cap * sizeof(*lat));
				csec = realloc(csec, cap * sizeof(*csec));
				if (lat == NULL || csec == NULL)
					die("%s", "out of memory");
			}
			csec[nlat] = commit_us / 1000000;
			lat[nlat++] = t - commit_us;
			sum += (double) (t - commit_us);
			if (first_ev == 0)
				first_ev = t;
			last_ev = t;
		}
		rd_kafka_message_destroy(m);
	}

	if (timeline != NULL)
		write_timeline(timeline, lat, csec, nlat);
	qsort(lat, nlat, sizeof(*lat), cmp_i64);
	printf("messages=%lld events=%zu other=%lld skipped=%lld bad=%lld "
		   "p50_us=%lld p90_us=%lld p99_us=%lld p999_us=%lld max_us=%lld mean_us=%.0f "
		   "first_us=%lld last_us=%lld\n",
		   messages, nlat, other, skipped, bad,
		   (long long) pct(lat, nlat, 0.50), (long long) pct(lat, nlat, 0.90),
		   (long long) pct(lat, nlat, 0.99), (long long) pct(lat, nlat, 0.999),
		   (long long) (nlat ? lat[nlat - 1] : -1), nlat ? sum / nlat : -1.0,
		   (long long) first_ev, (long long) last_ev);
	fflush(stdout);
	free(lat);
	free(csec);
	rd_kafka_consumer_close(rk);
	rd_kafka_destroy(rk);
	return 0;
}

/* Appends a varint; returns the new end. */
static uint8_t *
put_varint(uint8_t *p, uint64_t v)
{
	while (v >= 0x80)
	{
		*p++ = (uint8_t) (v | 0x80);
		v >>= 7;
	}
	*p++ = (uint8_t) v;
	return p;
}

static void
dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
	(void) rk;
	if (m->err)
		(*(long long *) opaque)++;
}

/*
 * Kafka path alone: `rate` messages/s for `seconds` s, each a minimal
 * Envelope {source {commit_time_us = now}} of ~100 bytes (padded in
 * Source.table like a real event), keyed like a row, produced with the
 * worker's own producer settings (idempotence, acks=all, linger.ms 5
 * unless -X says otherwise).
 */
static int
cmd_produce(const char *brokers, const char *topic, int rate, int seconds)
{
	rd_kafka_t *rk;
	long long	failed = 0,
				sent = 0;
	int64_t		start,
				end;
	char		err[512];

	{
		rd_kafka_conf_t *conf = rd_kafka_conf_new();

		conf_set(conf, "bootstrap.servers", brokers);
		conf_set(conf, "client.id", "e2e_probe_produce");
		conf_set(conf, "enable.idempotence", "true");
		conf_set(conf, "acks", "all");
		conf_set(conf, "linger.ms", "5");
		conf_set(conf, "partitioner", "murmur2_random");
		for (int i = 0; i < n_extra_props; i++)
		{
			char	   *kv = strdup(extra_props[i]);
			char	   *eq = strchr(kv, '=');

			if (eq == NULL)
				die("-X %s: write name=value", kv);
			*eq = '\0';
			conf_set(conf, kv, eq + 1);
			free(kv);
		}
		rd_kafka_conf_set_dr_msg_cb(conf, dr_cb);
		rd_kafka_conf_set_opaque(conf, &failed);
		rd_kafka_conf_set_log_cb(conf, log_cb);
		rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
		if (rk == NULL)
			die("rd_kafka_new: %s", err);
	}
	/*
	 * Warm-up, untimed: one message with commit time 1 (consumers skip it)
	 * and a flush, so the connection and the idempotent producer id are in
	 * place before the timed messages.
	 */
	{
		uint8_t		env[] = {(1 << 3) | 0, 1, (5 << 3) | 2, 2, (9 << 3) | 0, 1};

		if (rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
							  RD_KAFKA_V_VALUE(env, sizeof(env)), RD_KAFKA_V_END)
			!= RD_KAFKA_RESP_ERR_NO_ERROR)
			die("%s", "could not queue the warm-up message");
		rd_kafka_flush(rk, 30000);
	}
	start = now_us();
	end = start + (int64_t) seconds * 1000000;
	while (!stop_requested)
	{
		int64_t		t = now_us();
		long long	due;

		if (t >= end)
			break;
		due = (long long) ((double) (t - start) * rate / 1e6);
		while (sent < due)
		{
			uint8_t		src[128],
						env[160],
					   *s = src,
					   *e = env;
			char		key[32];
			int			keylen = snprintf(key, sizeof(key), "{\"id\":%lld}", sent);

			*s++ = (5 << 3) | 2;	/* Source.table: padding like a real event */
			s = put_varint(s, 60);
			memset(s, 'x', 60);
			s += 60;
			*s++ = (9 << 3) | 0;	/* Source.commit_time_us */
			s = put_varint(s, (uint64_t) now_us());
			*e++ = (1 << 3) | 0;	/* Envelope.op = OP_CREATE */
			*e++ = 1;
			*e++ = (5 << 3) | 2;	/* Envelope.source */
			e = put_varint(e, (uint64_t) (s - src));
			memcpy(e, src, s - src);
			e += s - src;
			if (rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic),
								  RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
								  RD_KAFKA_V_KEY(key, (size_t) keylen),
								  RD_KAFKA_V_VALUE(env, (size_t) (e - env)),
								  RD_KAFKA_V_END) != RD_KAFKA_RESP_ERR_NO_ERROR)
			{
				rd_kafka_poll(rk, 10);
				continue;
			}
			sent++;
		}
		rd_kafka_poll(rk, 0);
		usleep(1000);
	}
	rd_kafka_flush(rk, 30000);
	printf("sent=%lld failed=%lld rate=%.0f\n", sent, failed,
		   sent / ((now_us() - start) / 1e6));
	rd_kafka_destroy(rk);
	return failed ? 2 : 0;
}

static void
usage(void)
{
	fprintf(stderr,
			"usage: e2e_probe produce --brokers B --topic T [--rate R] [--seconds S] [-X k=v ...]\n"
			"       e2e_probe count   --brokers B --topic T [--expect N] [--timeout S]\n"
			"       e2e_probe latency --brokers B --topic T --format cdc|wal2json\n"
			"                         [--ready-file F] [--skip-before-us U] [--idle-exit MS] [--max-wait S]\n"
			"                         [--timeline FILE]\n"
			"       (-X name=value: librdkafka property, for every command)\n");
	exit(1);
}

int
main(int argc, char **argv)
{
	const char *brokers = NULL,
			   *topic = NULL,
			   *format = "cdc",
			   *ready = NULL,
			   *timeline = NULL;
	long long	expect = -1,
				skip_before = 0;
	int			timeout_s = 300,
				idle_ms = 3000,
				max_wait = 600,
				rate = 5000,
				seconds = 10;

	if (argc < 2)
		usage();
	for (int i = 2; i < argc; i++)
	{
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (v == NULL)
			usage();
		if (!strcmp(a, "--brokers"))
			brokers = v;
		else if (!strcmp(a, "--topic"))
			topic = v;
		else if (!strcmp(a, "--format"))
			format = v;
		else if (!strcmp(a, "--ready-file"))
			ready = v;
		else if (!strcmp(a, "--timeline"))
			timeline = v;
		else if (!strcmp(a, "--expect"))
			expect = atoll(v);
		else if (!strcmp(a, "--timeout"))
			timeout_s = atoi(v);
		else if (!strcmp(a, "--skip-before-us"))
			skip_before = atoll(v);
		else if (!strcmp(a, "--idle-exit"))
			idle_ms = atoi(v);
		else if (!strcmp(a, "--max-wait"))
			max_wait = atoi(v);
		else if (!strcmp(a, "--rate"))
			rate = atoi(v);
		else if (!strcmp(a, "--seconds"))
			seconds = atoi(v);
		else if (!strcmp(a, "-X"))
		{
			if (n_extra_props == 64)
				usage();
			extra_props[n_extra_props++] = v;
		}
		else
			usage();
		i++;
	}
	if (brokers == NULL || topic == NULL)
		usage();
	if (strcmp(format, "cdc") != 0 && strcmp(format, "wal2json") != 0)
		usage();
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	setvbuf(stdout, NULL, _IOLBF, 0);

	if (!strcmp(argv[1], "count"))
		return cmd_count(brokers, topic, expect, timeout_s);
	if (!strcmp(argv[1], "produce"))
		return cmd_produce(brokers, topic, rate, seconds);
	if (!strcmp(argv[1], "latency"))
		return cmd_latency(brokers, topic, !strcmp(format, "wal2json"), ready,
						   skip_before, idle_ms, max_wait, timeline);
	usage();
	return 1;
}
