package dev.kiln.features.trainingset;

/** How a rebuild compared with the registered snapshot. */
public record TrainingSetRebuild(TrainingSet set, long rebuiltRows, long onlyInRebuild, long onlyInSnapshot) {
    public boolean identical() {
        return rebuiltRows == set.rowCount() && onlyInRebuild == 0 && onlyInSnapshot == 0;
    }

    public String summary() {
        return identical()
                ? String.format("training set %s rebuilt from its registry row: %,d rows, identical to %s",
                        set.id(), rebuiltRows, set.table())
                : String.format("training set %s rebuilt from its registry row DIFFERS from %s: %,d rows rebuilt vs"
                        + " %,d registered; %,d rows only in the rebuild, %,d only in the snapshot",
                        set.id(), set.table(), rebuiltRows, set.rowCount(), onlyInRebuild, onlyInSnapshot);
    }
}
