/*
 * Runs librdkafka's mock cluster (3 brokers speaking the Kafka protocol on 127.0.0.1) until
 * SIGTERM/SIGINT, for factum's Kafka tests: no Kafka broker is packaged for these machines.
 * The mock listens on ports it picks itself (librdkafka 2.0 has no API to fix them), so the
 * bootstrap address is written to <dir>/bootstrap, and the pid to <dir>/pid.
 * SIGUSR1 takes every broker down (connections dropped and refused), SIGUSR2 brings them back:
 * the outage tests need a broker that goes away and returns with its data, which a restart of
 * this process cannot give (the mock keeps everything in memory).
 * Usage: kafka-mock <dir>
 */
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t stop, down, up;

static void on_signal(int sig) {
        if (sig == SIGUSR1) down = 1;
        else if (sig == SIGUSR2) up = 1;
        else stop = 1;
}

/* Writes through a temporary file and a rename, so a reader never sees half an address. */
static int write_file(const char *dir, const char *name, const char *text) {
        char path[4096], tmp[4096];
        snprintf(path, sizeof(path), "%s/%s", dir, name);
        snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", dir, name);
        FILE *f = fopen(tmp, "w");
        if (!f) return -1;
        fprintf(f, "%s\n", text);
        if (fclose(f) != 0) return -1;
        return rename(tmp, path);
}

int main(int argc, char **argv) {
        if (argc != 2) {
                fprintf(stderr, "usage: %s <dir>\n", argv[0]);
                return 2;
        }
        char errstr[512];
        rd_kafka_conf_t *conf = rd_kafka_conf_new();
        rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof(errstr));
        rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
        if (!rk) {
                fprintf(stderr, "kafka-mock: %s\n", errstr);
                return 1;
        }
        rd_kafka_mock_cluster_t *cluster = rd_kafka_mock_cluster_new(rk, 3);
        if (!cluster) {
                fprintf(stderr, "kafka-mock: could not create the mock cluster\n");
                return 1;
        }
        const char *bootstrap = rd_kafka_mock_cluster_bootstraps(cluster);
        char pid[32];
        snprintf(pid, sizeof(pid), "%ld", (long)getpid());
        if (write_file(argv[1], "pid", pid) != 0 || write_file(argv[1], "bootstrap", bootstrap) != 0) {
                perror("kafka-mock: writing to the state directory");
                return 1;
        }
        printf("kafka-mock: %s\n", bootstrap);
        fflush(stdout);

        signal(SIGTERM, on_signal);
        signal(SIGINT, on_signal);
        signal(SIGUSR1, on_signal);
        signal(SIGUSR2, on_signal);
        /* The mock runs on its own thread; the handlers only raise flags, acted on here. */
        while (!stop) {
                if (down) {
                        down = 0;
                        rd_kafka_mock_broker_set_down(cluster, -1);
                        write_file(argv[1], "state", "down");
                }
                if (up) {
                        up = 0;
                        rd_kafka_mock_broker_set_up(cluster, -1);
                        write_file(argv[1], "state", "up");
                }
                usleep(20 * 1000);
        }
        rd_kafka_mock_cluster_destroy(cluster);
        rd_kafka_destroy(rk);
        return 0;
}
