package dev.kiln.lakehouse.config;

import dev.kiln.lakehouse.KilnException;

/** An invalid configuration value; the message starts with the config path. */
public final class ConfigException extends KilnException {
    private static final long serialVersionUID = 1L;

    public ConfigException(String path, String problem) {
        super(path + ": " + problem);
    }
}
