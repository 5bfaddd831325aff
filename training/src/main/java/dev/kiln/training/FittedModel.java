package dev.kiln.training;

import dev.kiln.training.spec.Algorithm;
import java.util.List;
import java.util.Map;
import org.apache.spark.ml.PipelineModel;

/** A fitted model before it is registered; a binary classifier's decision chosen on the validation window. */
public record FittedModel(PipelineModel model, Algorithm algorithm, Map<String, String> params, Map<String, Double> metrics,
        List<Candidate> candidates, java.util.Optional<dev.kiln.training.decision.Decision> decision) {}
