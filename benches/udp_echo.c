/* udp_echo: the floor of a UDP server's cost on this machine, for benches/kdc-compare.sh.
 *
 *   udp_echo PORT THREADS
 *
 * Binds 127.0.0.1:PORT and answers every datagram with itself, from THREADS threads blocked in
 * recvfrom on the one socket (as ktix's UDP workers are). No decoding, no logging: what is left
 * is the kernel's work of receiving a datagram, sending one back and waking the threads. On
 * SIGTERM or SIGINT it prints how many datagrams it answered and exits. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/time.h>

static int sock;
static atomic_long answered;
static volatile sig_atomic_t stop;

static void on_signal(int sig) {
    (void)sig;
    stop = 1;
}

static void *serve(void *arg) {
    unsigned char buf[65536];
    while (!stop) {
        struct sockaddr_storage peer;
        socklen_t len = sizeof peer;
        ssize_t n = recvfrom(sock, buf, sizeof buf, 0, (struct sockaddr *)&peer, &len);
        if (n > 0 && sendto(sock, buf, (size_t)n, 0, (struct sockaddr *)&peer, len) == n)
            atomic_fetch_add_explicit(&answered, 1, memory_order_relaxed);
    }
    return arg;
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: udp_echo PORT THREADS\n");
        return 2;
    }
    int threads = atoi(argv[2]);
    if (threads < 1 || threads > 64) {
        fprintf(stderr, "udp_echo: THREADS must be 1..64\n");
        return 2;
    }
    struct sockaddr_in addr = {0};
    addr.sin_family = AF_INET;
    addr.sin_port = htons((unsigned short)atoi(argv[1]));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sock = socket(AF_INET, SOCK_DGRAM, 0);
    if (sock < 0 || bind(sock, (struct sockaddr *)&addr, sizeof addr) != 0) {
        perror("udp_echo: bind");
        return 1;
    }
    /* recvfrom returns every 100 ms without a datagram, so a signal is noticed. */
    struct timeval poll = {0, 100000};
    setsockopt(sock, SOL_SOCKET, SO_RCVTIMEO, &poll, sizeof poll);
    struct sigaction sa = {0};
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    pthread_t th[64];
    for (int i = 0; i < threads; i++)
        pthread_create(&th[i], NULL, serve, NULL);
    printf("listening\n");
    fflush(stdout);
    for (int i = 0; i < threads; i++)
        pthread_join(th[i], NULL);
    printf("answered %ld\n", atomic_load(&answered));
    return 0;
}
