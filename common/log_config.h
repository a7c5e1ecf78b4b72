/*
 * log_config: applies a config's logging: block (level, type, stderr) to
 * the log module, the same way in every command and process role.
 */
#ifndef WALSHIP_LOG_CONFIG_H
#define WALSHIP_LOG_CONFIG_H

struct cfg;

void log_config_apply(const struct cfg *cfg);

#endif
