/*
 * rundir: the private runtime directory that holds the ipc:// endpoints of
 * one supervisor and its children.
 *
 * mkdtemp creates it with mode 0700, so only the service user can connect
 * to the sockets. The base is systemd's $RUNTIME_DIRECTORY (RuntimeDirectory=
 * in the unit), else $XDG_RUNTIME_DIR, else /tmp. A Unix socket path has at
 * most 107 bytes: the supervisor checks with endpoints_check() that every
 * endpoint fits before it starts a child. When the children run as the
 * service user, the directory and the supervisor's status socket are
 * given to that user (sv_rundir_own): they bind their own sockets there.
 */
#include "sv.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "config.h"
#include "endpoints.h"
#include "log.h"
#include "privdrop.h"

int
sv_rundir_template(char *buf, size_t len, const char *runtime_directory,
    const char *xdg_runtime_dir)
{
	const char *base = "/tmp";
	size_t baselen;
	int n;

	if (runtime_directory != NULL && runtime_directory[0] != '\0')
		base = runtime_directory;
	else if (xdg_runtime_dir != NULL && xdg_runtime_dir[0] != '\0')
		base = xdg_runtime_dir;
	/* RuntimeDirectory= with several names gives "/run/a:/run/b". */
	baselen = strcspn(base, ":");
	while (baselen > 1 && base[baselen - 1] == '/')
		baselen--;
	n = snprintf(buf, len, "%.*s/walship.XXXXXX", (int)baselen, base);
	if (n < 0 || (size_t)n >= len)
		return -1;
	return 0;
}

char *
sv_rundir_create(void)
{
	char tmpl[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char *dir;

	if (sv_rundir_template(tmpl, sizeof(tmpl),
	    getenv("RUNTIME_DIRECTORY"), getenv("XDG_RUNTIME_DIR")) < 0) {
		log_error("runtime directory path too long for ipc sockets",
		    KV_S("base", getenv("RUNTIME_DIRECTORY") != NULL ?
		    getenv("RUNTIME_DIRECTORY") : getenv("XDG_RUNTIME_DIR")));
		return NULL;
	}
	if (mkdtemp(tmpl) == NULL) {
		log_error("cannot create runtime directory", KV_S("path", tmpl),
		    KV_ERR());
		return NULL;
	}
	if ((dir = strdup(tmpl)) == NULL) {
		(void)rmdir(tmpl);
		log_error("out of memory");
	}
	return dir;
}

int
sv_rundir_own(const struct cfg *cfg, const char *dir)
{
	struct privdrop_user pu;
	char err[512], status[ENDPOINTS_ADDR_MAX];
	const char *sock;

	if (privdrop_resolve(cfg->user, &pu, err, sizeof(err)) < 0) {
		log_error("cannot run the processes as the service user",
		    KV_ERRS(err));
		return -1;
	}
	if (!pu.switch_ids) {
		if (geteuid() == 0)
			log_warn("every process runs as root (user: root)",
			    KV_S("user", cfg->user));
		return 0;
	}
	if (endpoints_status(dir, status, err, sizeof(err)) < 0 ||
	    (sock = endpoints_path(status)) == NULL) {
		log_error("runtime directory unusable", KV_S("path", dir),
		    KV_ERRS(err));
		return -1;
	}
	if (chown(dir, pu.uid, pu.gid) < 0 || chmod(dir, 0700) < 0 ||
	    chown(sock, pu.uid, pu.gid) < 0) {
		log_error("cannot give the runtime directory to the service "
		    "user", KV_S("path", dir), KV_S("user", pu.name), KV_ERR());
		return -1;
	}
	return 0;
}

void
sv_rundir_remove(const char *dir)
{
	struct dirent *de;
	DIR *d;
	int dfd;

	if (dir == NULL)
		return;
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 ||
	    (d = fdopendir(dfd)) == NULL) {
		if (dfd >= 0)
			close(dfd);
		log_warn("cannot open runtime directory", KV_S("path", dir),
		    KV_ERR());
		return;
	}
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (unlinkat(dfd, de->d_name, 0) < 0 &&
		    (errno != EISDIR ||
		    unlinkat(dfd, de->d_name, AT_REMOVEDIR) < 0))
			log_warn("cannot remove from runtime directory",
			    KV_S("path", dir), KV_S("name", de->d_name),
			    KV_ERR());
	}
	closedir(d);
	if (rmdir(dir) < 0)
		log_warn("cannot remove runtime directory", KV_S("path", dir),
		    KV_ERR());
}
