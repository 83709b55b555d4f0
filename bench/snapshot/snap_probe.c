/*
 * snap_probe.c — the latency consumer of the snapshot benchmark
 * (bench/snapshot/run.sh).
 *
 *   snap_probe --brokers B --topic T --out FILE [--ready-file F] [-X k=v ...]
 *   snap_probe count --brokers B --topic T      (e2e_probe's count: messages in T)
 *
 * Reads every partition of topic T from the beginning and writes one line
 * per change event to FILE:
 *
 *   commit_us recv_us
 *
 * commit_us is the transaction's commit time carried in the envelope
 * (Envelope.source.commit_time_us), recv_us the time the message came out
 * of rd_kafka_consumer_poll(), both CLOCK_REALTIME of this host, µs since
 * 1970. Tombstones and unparsable messages are counted, not written. run.sh
 * cuts the file into windows of commit time (baseline, during the
 * snapshot), which bench/e2e's e2e_probe cannot do (it reports one run's
 * percentiles and per-second ones). Runs until SIGTERM/SIGINT, then prints
 * "messages=N events=E other=O" on stdout.
 *
 * The Kafka client and the protobuf parsing are bench/e2e/e2e_probe.c's own
 * (included below, its main() renamed), so both benchmarks time the same way:
 * same consumer settings (fetch.wait.max.ms etc., -X applied last), same
 * commit time.
 */
#define main e2e_probe_main
#include "../e2e/e2e_probe.c"
#undef main

static void
snap_usage(void)
{
	fprintf(stderr, "usage: snap_probe --brokers B --topic T --out FILE [--ready-file F] [-X k=v ...]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	const char *brokers = NULL,
			   *topic = NULL,
			   *out = NULL,
			   *ready = NULL;
	long long	messages = 0,
				events = 0,
				other = 0;

	/* e2e_probe's own commands (count, for the topic checks) */
	if (argc > 1 && argv[1][0] != '-')
		return e2e_probe_main(argc, argv);
	for (int i = 1; i < argc; i += 2)
	{
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (v == NULL)
			snap_usage();
		if (!strcmp(a, "--brokers"))
			brokers = v;
		else if (!strcmp(a, "--topic"))
			topic = v;
		else if (!strcmp(a, "--out"))
			out = v;
		else if (!strcmp(a, "--ready-file"))
			ready = v;
		else if (!strcmp(a, "-X"))
		{
			if (n_extra_props == (int) (sizeof(extra_props) / sizeof(extra_props[0])))
				snap_usage();
			extra_props[n_extra_props++] = v;
		}
		else
			snap_usage();
	}
	if (brokers == NULL || topic == NULL || out == NULL)
		snap_usage();
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);

	FILE	   *f = fopen(out, "w");

	if (f == NULL)
		die("cannot create %s", out);
	/* line-buffered: run.sh waits until the file holds every event
	 * (a few thousand lines a second) */
	setvbuf(f, NULL, _IOLBF, 0);

	rd_kafka_t *rk = make_client(RD_KAFKA_CONSUMER, brokers);
	int			nparts = partition_count(rk, topic, 30000);

	if (nparts == 0)
		die("topic %s did not appear within 30 s", topic);

	rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(nparts);

	for (int p = 0; p < nparts; p++)
		rd_kafka_topic_partition_list_add(parts, topic, p)->offset = RD_KAFKA_OFFSET_BEGINNING;
	if (rd_kafka_assign(rk, parts) != RD_KAFKA_RESP_ERR_NO_ERROR)
		die("assign failed for %s", topic);
	rd_kafka_topic_partition_list_destroy(parts);
	if (ready != NULL)
	{
		FILE	   *rf = fopen(ready, "w");

		if (rf == NULL)
			die("cannot create %s", ready);
		fprintf(rf, "%d\n", nparts);
		fclose(rf);
	}

	while (!stop_requested)
	{
		rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 50);
		int64_t		t = now_us();
		int64_t		commit_us = 0;

		if (m == NULL)
			continue;
		if (m->err)
		{
			if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
				fprintf(stderr, "snap_probe: consume error: %s\n", rd_kafka_message_errstr(m));
			rd_kafka_message_destroy(m);
			continue;
		}
		messages++;
		if (cdc_commit_time(m->payload, m->len, &commit_us) == 1)
		{
			events++;
			fprintf(f, "%lld %lld\n", (long long) commit_us, (long long) t);
		}
		else
			other++;
		rd_kafka_message_destroy(m);
	}
	if (fclose(f) != 0)
		die("cannot write %s", out);
	printf("messages=%lld events=%lld other=%lld\n", messages, events, other);
	fflush(stdout);
	rd_kafka_consumer_close(rk);
	rd_kafka_destroy(rk);
	return 0;
}
