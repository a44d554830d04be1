// Package broker is the data plane of a Knative Kafka Broker, run locally.
//
// It reads the same Broker and Trigger objects that are applied to a cluster
// and serves them against a Kafka cluster: an HTTP ingress that writes
// CloudEvents to one topic per Broker, and one consumer group per Trigger that
// filters, delivers with retries and dead-lettering, publishes reply events and
// commits an offset only once its record has been handled. A Broker's topic is
// fetched once for all its Triggers (see feed).
package broker
