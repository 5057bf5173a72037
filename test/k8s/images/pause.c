/* The pod sandbox's process (the "pause" container): holds the pod's namespaces, reaps orphans
 * (it is PID 1 of the pod when the PID namespace is shared) and exits on SIGTERM/SIGINT so a pod
 * stops at once. Built static by test/k8s/images/build.sh; the cluster never pulls an image. */
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void on_term(int sig) { (void)sig; _exit(0); }

static void on_child(int sig) {
  (void)sig;
  while (waitpid(-1, NULL, WNOHANG) > 0) {
  }
}

int main(void) {
  struct sigaction term, child;
  memset(&term, 0, sizeof term);
  term.sa_handler = on_term;
  sigaction(SIGTERM, &term, NULL);
  sigaction(SIGINT, &term, NULL);
  memset(&child, 0, sizeof child);
  child.sa_handler = on_child;
  child.sa_flags = SA_NOCLDSTOP | SA_RESTART;
  sigaction(SIGCHLD, &child, NULL);
  for (;;) pause();
}
