/*
 * outbox.h — domain events: cdc_plugin.publish() (outbox.c) and what the
 * plugin and the worker share about them.
 */
#ifndef CDC_OUTBOX_H
#define CDC_OUTBOX_H

/*
 * Logical messages with this prefix are outbox events written by
 * cdc_plugin.publish(): their content is a cdc.v1.OutboxEvent. The plugin
 * writes them as outbox events (never as m events); the worker publishes
 * each as it is, to its own topic.
 */
#define CDC_OUTBOX_PREFIX "cdc_plugin.outbox"

/* Headers one outbox event may carry (besides cdc.event_id, which the worker adds). */
#define CDC_OUTBOX_MAX_HEADERS 64

/* The Kafka header the worker puts on every message it publishes. */
#define CDC_EVENT_ID_HEADER "cdc.event_id"

#endif							/* CDC_OUTBOX_H */
