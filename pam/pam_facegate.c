/*
 * pam_facegate.so — face unlock for Linux-PAM, talking to the FaceGate daemon over a Unix socket.
 *
 * Dependency rule: this file uses libpam and libc only. No Swift runtime, no OpenCV, no other program is ever run:
 * the module is loaded into sudo, sshd, login and display managers, so it must stay small, bounded and fail closed.
 * All face work (camera, liveness, identity, lockout) happens in `facegate daemon`; see docs/face-unlock.md.
 *
 * Protocol (text lines, each ≤ FG_MAX_LINE bytes, ending in '\n'; docs/face-unlock.md is the reference):
 *   module → daemon:  "FACEGATE-PAM 1" / "USER <name>" / "SERVICE <svc>" / ["TTY <tty>"] / ["RHOST <host>"] / "AUTH"
 *   daemon → module:  "INFO <text>"   shown through the PAM conversation (PAM_TEXT_INFO), e.g. "Blink"
 *                     "ERROR <text>"  shown as PAM_ERROR_MSG
 *                     "RESULT OK"                      → PAM_SUCCESS (the only way to succeed)
 *                     "RESULT DENIED <why>"            → PAM_AUTH_ERR
 *                     "RESULT UNKNOWN_USER"            → PAM_IGNORE (not enrolled: the password follows)
 *                     "RESULT UNAVAILABLE <why>"       → PAM_AUTHINFO_UNAVAIL (camera busy or missing, …)
 * Anything else (a long line, a NUL byte, an unknown verb, silence past the deadline, a closed socket, a peer that
 * is not the daemon's user) is PAM_AUTHINFO_UNAVAIL: the password prompt follows, face unlock never succeeds by error.
 *
 * Options (in the PAM stack line):
 *   socket=PATH        daemon socket (default /run/facegate/pam.sock)
 *   timeout=SECONDS    longest silence between two daemon lines, and the connect deadline (default 5)
 *   max_time=SECONDS   longest whole attempt (default 30)
 *   daemon_user=NAME   the daemon's account; the socket's peer must run as it or as root (default facegate)
 *   allow_remote       also try when the session is remote (default: PAM_RHOST or SSH_* set → PAM_IGNORE at once)
 *   debug              log each step to syslog (auth facility)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#define PAM_SM_AUTH
#include <security/pam_ext.h>
#include <security/pam_modules.h>

#define FG_DEFAULT_SOCKET "/run/facegate/pam.sock"
#define FG_DEFAULT_TIMEOUT_MS 5000
#define FG_DEFAULT_MAX_TIME_MS 30000
#define FG_DEFAULT_DAEMON_USER "facegate"
/* A prompt or a reason is one short sentence; 512 bytes bounds what a broken or hostile peer can make us hold. */
#define FG_MAX_LINE 512
/* A whole attempt sends a handful of prompts; more than this many lines is a runaway peer. */
#define FG_MAX_LINES 256

struct fg_options {
    const char *socket_path;
    int timeout_ms;
    int max_time_ms;
    const char *daemon_user;
    int allow_remote;
    int debug;
};

static void fg_debug(pam_handle_t *pamh, const struct fg_options *o, const char *fmt, ...) {
    if (!o->debug) return;
    char msg[FG_MAX_LINE + 128];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    pam_syslog(pamh, LOG_DEBUG, "%s", msg);
}

static int fg_parse_seconds(const char *s, int fallback_ms) {
    char *end = NULL;
    errno = 0;
    double v = strtod(s, &end);
    if (errno != 0 || end == s || *end != '\0' || !(v > 0) || v > 600) return fallback_ms;
    return (int)(v * 1000.0);
}

static void fg_parse_options(pam_handle_t *pamh, int argc, const char **argv, struct fg_options *o) {
    o->socket_path = FG_DEFAULT_SOCKET;
    o->timeout_ms = FG_DEFAULT_TIMEOUT_MS;
    o->max_time_ms = FG_DEFAULT_MAX_TIME_MS;
    o->daemon_user = FG_DEFAULT_DAEMON_USER;
    o->allow_remote = 0;
    o->debug = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (strncmp(a, "socket=", 7) == 0 && a[7] == '/') o->socket_path = a + 7;
        else if (strncmp(a, "timeout=", 8) == 0) o->timeout_ms = fg_parse_seconds(a + 8, FG_DEFAULT_TIMEOUT_MS);
        else if (strncmp(a, "max_time=", 9) == 0) o->max_time_ms = fg_parse_seconds(a + 9, FG_DEFAULT_MAX_TIME_MS);
        else if (strncmp(a, "daemon_user=", 12) == 0 && a[12] != '\0') o->daemon_user = a + 12;
        else if (strcmp(a, "allow_remote") == 0) o->allow_remote = 1;
        else if (strcmp(a, "debug") == 0) o->debug = 1;
        else pam_syslog(pamh, LOG_WARNING, "pam_facegate: unknown option '%s' ignored", a);
    }
}

static long long fg_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A remote login (ssh, rlogin, a remote display) cannot be answered by this machine's camera. */
static int fg_is_remote(pam_handle_t *pamh) {
    const void *rhost = NULL;
    if (pam_get_item(pamh, PAM_RHOST, &rhost) == PAM_SUCCESS && rhost != NULL) {
        const char *h = rhost;
        if (h[0] != '\0' && strcmp(h, "localhost") != 0 && strcmp(h, "127.0.0.1") != 0 && strcmp(h, "::1") != 0)
            return 1;
    }
    const char *vars[] = {"SSH_CONNECTION", "SSH_CLIENT", "SSH_TTY"};
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++) {
        const char *v = pam_getenv(pamh, vars[i]);
        if (v == NULL) v = getenv(vars[i]);
        if (v != NULL && v[0] != '\0') return 1;
    }
    return 0;
}

/* A value sent to the daemon: one line, printable, bounded. */
static int fg_clean_value(const char *v) {
    if (v == NULL) return 0;
    size_t n = strnlen(v, FG_MAX_LINE);
    if (n == 0 || n >= FG_MAX_LINE - 16) return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)v[i];
        if (c < 0x20 || c == 0x7f) return 0;
    }
    return 1;
}

/* Connects with a deadline; -1 when the daemon is not there (the common, fast case). */
static int fg_connect(pam_handle_t *pamh, const struct fg_options *o) {
    struct sockaddr_un addr;
    memset(&addr, 0, sizeof addr);
    addr.sun_family = AF_UNIX;
    if (strlen(o->socket_path) >= sizeof addr.sun_path) {
        pam_syslog(pamh, LOG_ERR, "pam_facegate: socket path too long: %s", o->socket_path);
        return -1;
    }
    strcpy(addr.sun_path, o->socket_path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) return -1;
    if (connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0) {
        if (errno != EINPROGRESS && errno != EAGAIN) {
            fg_debug(pamh, o, "pam_facegate: daemon not reachable at %s: %s", o->socket_path, strerror(errno));
            close(fd);
            return -1;
        }
        struct pollfd p = {.fd = fd, .events = POLLOUT};
        int err = 0;
        socklen_t len = sizeof err;
        if (poll(&p, 1, o->timeout_ms) != 1 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
            fg_debug(pamh, o, "pam_facegate: connect to %s timed out or failed", o->socket_path);
            close(fd);
            return -1;
        }
    }
    return fd;
}

/* The peer must be the daemon's account (or root): a socket left by anyone else is not trusted. */
static int fg_peer_trusted(pam_handle_t *pamh, const struct fg_options *o, int fd) {
    struct ucred cred;
    socklen_t len = sizeof cred;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) return 0;
    if (cred.uid == 0) return 1;
    struct passwd pw, *res = NULL;
    char buf[1024];
    if (getpwnam_r(o->daemon_user, &pw, buf, sizeof buf, &res) != 0 || res == NULL) {
        pam_syslog(pamh, LOG_ERR, "pam_facegate: daemon user '%s' does not exist", o->daemon_user);
        return 0;
    }
    if (cred.uid != pw.pw_uid) {
        pam_syslog(pamh, LOG_ERR, "pam_facegate: socket peer uid %u is not the daemon user '%s' (uid %u)",
                   (unsigned)cred.uid, o->daemon_user, (unsigned)pw.pw_uid);
        return 0;
    }
    return 1;
}

static int fg_send_all(int fd, const char *buf, size_t n, long long deadline) {
    while (n > 0) {
        long long left = deadline - fg_now_ms();
        if (left <= 0) return -1;
        struct pollfd p = {.fd = fd, .events = POLLOUT};
        if (poll(&p, 1, (int)left) != 1) return -1;
        /* MSG_NOSIGNAL: a daemon that went away must not SIGPIPE sudo or the display manager. */
        ssize_t w = send(fd, buf, n, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR || errno == EAGAIN) continue;
            return -1;
        }
        buf += w;
        n -= (size_t)w;
    }
    return 0;
}

static int fg_send_line(int fd, const char *verb, const char *value, long long deadline) {
    char line[FG_MAX_LINE];
    int n = value ? snprintf(line, sizeof line, "%s %s\n", verb, value) : snprintf(line, sizeof line, "%s\n", verb);
    if (n <= 0 || n >= (int)sizeof line) return -1;
    return fg_send_all(fd, line, (size_t)n, deadline);
}

struct fg_reader {
    int fd;
    char buf[FG_MAX_LINE * 2];
    size_t have;
};

/* Next line without its '\n': 1 = a line, 0 = closed / timed out / malformed. */
static int fg_read_line(struct fg_reader *r, char *out, size_t cap, int timeout_ms, long long deadline) {
    for (;;) {
        char *nl = memchr(r->buf, '\n', r->have);
        if (nl != NULL) {
            size_t len = (size_t)(nl - r->buf);
            if (len >= cap || memchr(r->buf, '\0', len) != NULL) return 0;
            memcpy(out, r->buf, len);
            out[len] = '\0';
            if (len > 0 && out[len - 1] == '\r') out[len - 1] = '\0';
            memmove(r->buf, nl + 1, r->have - len - 1);
            r->have -= len + 1;
            return 1;
        }
        if (r->have >= FG_MAX_LINE) return 0; /* an over-long line */
        long long left = deadline - fg_now_ms();
        int wait = (int)(left < timeout_ms ? left : timeout_ms);
        if (wait <= 0) return 0;
        struct pollfd p = {.fd = r->fd, .events = POLLIN};
        int pr = poll(&p, 1, wait);
        if (pr < 0 && errno == EINTR) continue;
        if (pr != 1) return 0;
        ssize_t got = recv(r->fd, r->buf + r->have, sizeof r->buf - r->have, 0);
        if (got < 0 && (errno == EINTR || errno == EAGAIN)) continue;
        if (got <= 0) return 0;
        r->have += (size_t)got;
    }
}

/* Daemon text shown to the user: control characters become spaces. */
static void fg_sanitize(char *s) {
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c < 0x20 || c == 0x7f) *s = ' ';
    }
}

static int fg_authenticate(pam_handle_t *pamh, const struct fg_options *o) {
    const char *user = NULL;
    if (pam_get_user(pamh, &user, NULL) != PAM_SUCCESS || !fg_clean_value(user)) return PAM_USER_UNKNOWN;
    if (!o->allow_remote && fg_is_remote(pamh)) {
        fg_debug(pamh, o, "pam_facegate: remote session, face unlock skipped");
        return PAM_IGNORE;
    }
    long long start = fg_now_ms();
    long long deadline = start + o->max_time_ms;
    int fd = fg_connect(pamh, o);
    if (fd < 0) return PAM_AUTHINFO_UNAVAIL;
    int rc = PAM_AUTHINFO_UNAVAIL;
    if (!fg_peer_trusted(pamh, o, fd)) goto done;

    const void *item = NULL;
    const char *service = (pam_get_item(pamh, PAM_SERVICE, &item) == PAM_SUCCESS && fg_clean_value(item)) ? item : "unknown";
    const char *tty = (pam_get_item(pamh, PAM_TTY, &item) == PAM_SUCCESS && fg_clean_value(item)) ? item : NULL;
    const char *rhost = (pam_get_item(pamh, PAM_RHOST, &item) == PAM_SUCCESS && fg_clean_value(item)) ? item : NULL;
    long long send_deadline = fg_now_ms() + o->timeout_ms;
    if (send_deadline > deadline) send_deadline = deadline;
    if (fg_send_line(fd, "FACEGATE-PAM", "1", send_deadline) != 0 || fg_send_line(fd, "USER", user, send_deadline) != 0
        || fg_send_line(fd, "SERVICE", service, send_deadline) != 0
        || (tty && fg_send_line(fd, "TTY", tty, send_deadline) != 0)
        || (rhost && fg_send_line(fd, "RHOST", rhost, send_deadline) != 0)
        || fg_send_line(fd, "AUTH", NULL, send_deadline) != 0) {
        fg_debug(pamh, o, "pam_facegate: could not send the request");
        goto done;
    }

    struct fg_reader reader = {.fd = fd, .have = 0};
    char line[FG_MAX_LINE];
    for (int lines = 0; lines < FG_MAX_LINES; lines++) {
        if (!fg_read_line(&reader, line, sizeof line, o->timeout_ms, deadline)) {
            pam_syslog(pamh, LOG_NOTICE, "pam_facegate: no usable answer from the daemon (timeout, closed or malformed) for %s", user);
            goto done;
        }
        if (strncmp(line, "INFO ", 5) == 0) {
            fg_sanitize(line + 5);
            pam_info(pamh, "%s", line + 5);
        } else if (strncmp(line, "ERROR ", 6) == 0) {
            fg_sanitize(line + 6);
            pam_error(pamh, "%s", line + 6);
        } else if (strcmp(line, "RESULT OK") == 0) {
            pam_syslog(pamh, LOG_INFO, "pam_facegate: face unlock succeeded for %s (%s)", user, service);
            rc = PAM_SUCCESS;
            goto done;
        } else if (strncmp(line, "RESULT DENIED", 13) == 0 && (line[13] == '\0' || line[13] == ' ')) {
            fg_sanitize(line);
            pam_syslog(pamh, LOG_NOTICE, "pam_facegate: face unlock denied for %s (%s):%s", user, service, line + 13);
            rc = PAM_AUTH_ERR;
            goto done;
        } else if (strcmp(line, "RESULT UNKNOWN_USER") == 0) {
            fg_debug(pamh, o, "pam_facegate: %s is not enrolled", user);
            rc = PAM_IGNORE;
            goto done;
        } else if (strncmp(line, "RESULT UNAVAILABLE", 18) == 0 && (line[18] == '\0' || line[18] == ' ')) {
            fg_sanitize(line);
            fg_debug(pamh, o, "pam_facegate: face unlock unavailable:%s", line + 18);
            rc = PAM_AUTHINFO_UNAVAIL;
            goto done;
        } else {
            pam_syslog(pamh, LOG_WARNING, "pam_facegate: unexpected line from the daemon; falling back");
            goto done;
        }
    }
    pam_syslog(pamh, LOG_WARNING, "pam_facegate: too many lines from the daemon; falling back");
done:
    close(fd);
    fg_debug(pamh, o, "pam_facegate: returning %d after %lld ms", rc, fg_now_ms() - start);
    return rc;
}

PAM_EXTERN int pam_sm_authenticate(pam_handle_t *pamh, int flags, int argc, const char **argv) {
    (void)flags;
    struct fg_options o;
    fg_parse_options(pamh, argc, argv, &o);
    return fg_authenticate(pamh, &o);
}

PAM_EXTERN int pam_sm_setcred(pam_handle_t *pamh, int flags, int argc, const char **argv) {
    (void)pamh; (void)flags; (void)argc; (void)argv;
    return PAM_SUCCESS;
}
