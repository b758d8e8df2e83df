using System.Globalization;
using System.Text;
using System.Text.Json;
using NeuralCore.Scoring;
using NeuralCore.Training;

namespace MnistMlp;

/// <summary>What the trained model did on the test set.</summary>
/// <param name="Loss">The test loss.</param>
/// <param name="Accuracy">The test accuracy.</param>
/// <param name="TopTwoAccuracy">The share of images whose digit is among the two most probable.</param>
/// <param name="Confusion">The confusion matrix.</param>
/// <param name="Roc">The one-vs-rest ROC curves.</param>
/// <param name="Mistakes">The most confidently misclassified images, most confident first.</param>
internal sealed record TestResults(double Loss, double Accuracy, double TopTwoAccuracy, ConfusionMatrix Confusion, MulticlassRoc Roc, IReadOnlyList<Mistake> Mistakes)
{
    public ClassificationReport Scores { get; } = new(Confusion);
}

/// <summary>Everything one training run measured, and the files that describe it.</summary>
internal sealed record RunReport(
    TrainSettings Settings,
    int Parameters,
    int TrainSamples,
    int ValidationSamples,
    int TestSamples,
    int ThreadsUsed,
    string DataSource,
    double LoadSeconds,
    History History,
    TestResults Test,
    string Summary)
{
    private static readonly CultureInfo Inv = Formats.Culture;

    public double TrainSeconds => History.TotalSeconds;

    public Verdict Overfitting { get; } = Verdict.Judge(History, Settings.Monitor, Settings);

    /// <summary>The run's identifier, as in manifest.json (<see cref="RunManifest"/>); empty when not given.</summary>
    public string RunId { get; init; } = string.Empty;

    /// <summary>report.json: config, per-epoch metrics, timings, test results, confusion matrix, per-class scores and AUCs, the verdict.</summary>
    public byte[] Json()
    {
        using var stream = new MemoryStream();
        using (var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
        {
            json.WriteStartObject();
            if (RunId.Length > 0)
            {
                json.WriteString("runId", RunId);
            }

            json.WriteStartObject("config");
            json.WriteStartArray("hidden");
            foreach (int h in Settings.Hidden)
            {
                json.WriteNumberValue(h);
            }

            json.WriteEndArray();
            json.WriteNumber("epochs", Settings.Epochs);
            json.WriteNumber("batch_size", Settings.BatchSize);
            json.WriteString("optimizer", Settings.Optimizer);
            json.WriteNumber("learning_rate", Settings.EffectiveLearningRate);
            json.WriteString("schedule", Settings.Schedule);
            json.WriteNumber("warmup", Settings.Warmup);
            json.WriteString("loss", Settings.Loss);
            json.WriteNumber("dropout", Settings.Dropout);
            json.WriteString("normalization", Settings.Normalization);
            json.WriteNumber("l2", Settings.L2);
            json.WriteNumber("max_norm", Settings.MaxNorm);
            json.WriteString("initializer", Settings.Initializer);
            json.WriteNumber("validation_split", Settings.ValidationSplit);
            json.WriteString("monitor", Settings.Monitor);
            if (Settings.EarlyStoppingPatience is { } patience)
            {
                json.WriteNumber("early_stopping_patience", patience);
            }

            json.WriteNumber("seed", Settings.Seed);
            json.WriteNumber("threads", ThreadsUsed);
            if (Settings.Preset is not null)
            {
                json.WriteString("preset", Settings.Preset);
            }

            json.WriteEndObject();
            json.WriteNumber("parameters", Parameters);
            json.WriteStartObject("data");
            json.WriteString("source", DataSource);
            json.WriteNumber("train_samples", TrainSamples);
            json.WriteNumber("validation_samples", ValidationSamples);
            json.WriteNumber("test_samples", TestSamples);
            json.WriteNumber("load_seconds", LoadSeconds);
            json.WriteEndObject();
            json.WriteStartArray("epochs");
            foreach (EpochMetrics e in History.Epochs)
            {
                json.WriteStartObject();
                json.WriteNumber("epoch", e.Epoch);
                json.WriteNumber("loss", e.Loss);
                json.WriteNumber("accuracy", e.Accuracy);
                WriteOptional(json, "val_loss", e.ValidationLoss);
                WriteOptional(json, "val_accuracy", e.ValidationAccuracy);
                json.WriteNumber("seconds", e.Seconds);
                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteNumber("train_seconds", TrainSeconds);
            if (History.StopReason is { } reason)
            {
                json.WriteString("stop_reason", reason);
            }

            json.WriteNumber("test_loss", Test.Loss);
            json.WriteNumber("test_accuracy", Test.Accuracy);
            json.WriteNumber("test_top2_accuracy", Test.TopTwoAccuracy);
            json.WriteStartArray("confusion_matrix");
            foreach (long[] row in Test.Confusion.ToArray())
            {
                json.WriteStartArray();
                foreach (long count in row)
                {
                    json.WriteNumberValue(count);
                }

                json.WriteEndArray();
            }

            json.WriteEndArray();
            json.WriteStartArray("per_class");
            for (int c = 0; c < Test.Scores.Classes.Count; c++)
            {
                ClassScores s = Test.Scores.Classes[c];
                json.WriteStartObject();
                json.WriteNumber("class", c);
                json.WriteNumber("precision", s.Precision);
                json.WriteNumber("recall", s.Recall);
                json.WriteNumber("f1", s.F1);
                json.WriteNumber("support", s.Support);
                json.WriteNumber("auc", Test.Roc.Classes[c].Auc);
                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteStartObject("averages");
            foreach (ClassScores s in new[] { Test.Scores.MacroAverage, Test.Scores.WeightedAverage })
            {
                json.WriteStartObject(s.Name.Replace(' ', '_'));
                json.WriteNumber("precision", s.Precision);
                json.WriteNumber("recall", s.Recall);
                json.WriteNumber("f1", s.F1);
                json.WriteEndObject();
            }

            json.WriteNumber("micro_auc", Test.Roc.MicroAuc);
            json.WriteNumber("macro_auc", Test.Roc.MacroAuc);
            json.WriteEndObject();
            json.WriteStartArray("most_confident_mistakes");
            foreach (Mistake m in Test.Mistakes)
            {
                json.WriteStartObject();
                json.WriteNumber("index", m.Index);
                json.WriteNumber("true", m.Actual);
                json.WriteNumber("predicted", m.Predicted);
                json.WriteNumber("confidence", m.Confidence);
                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteStartObject("overfitting");
            json.WriteString("answer", Overfitting.Answer);
            if (Overfitting.BestEpoch is { } best)
            {
                json.WriteNumber("best_epoch", best);
            }

            json.WriteString("evidence", Overfitting.Evidence);
            json.WriteString("advice", Overfitting.Advice);
            json.WriteString("rule", OverfittingVerdict.Rule);
            json.WriteEndObject();
            json.WriteEndObject();
        }

        return stream.ToArray();

        static void WriteOptional(Utf8JsonWriter json, string name, double? value)
        {
            if (value is { } v)
            {
                json.WriteNumber(name, v);
            }
            else
            {
                json.WriteNull(name);
            }
        }
    }

    /// <summary>report.md: the assignment's four questions answered from this run's numbers.</summary>
    public string Markdown()
    {
        var md = new StringBuilder();
        string hidden = string.Join("-", Settings.Hidden);
        md.Append(Inv, $"# MNIST MLP 784-{hidden}-10: training report\n\n");
        md.Append(Inv, $"{Settings.ConfigurationHeading}: hidden {string.Join(", ", Settings.Hidden)}, {Settings.Describe()}, ")
          .Append(Inv, $"seed {Settings.Seed}, {ThreadsUsed} thread(s); {Parameters:N0} parameters. ")
          .Append(Inv, $"Data: {TrainSamples:N0} training, {ValidationSamples:N0} validation and {TestSamples:N0} test samples ({DataSource}).\n\n");

        md.Append("## 1. How long did it train?\n\n");
        md.Append(Inv, $"{TrainSeconds:0.00} s for {History.Epochs.Count} epoch(s), {TrainSeconds / Math.Max(1, History.Epochs.Count):0.00} s per epoch on average ")
          .Append(Inv, $"(validation included; loading the data took {LoadSeconds:0.00} s more).");
        if (History.StopReason is { } reason)
        {
            md.Append(Inv, $" Training ended early: {reason}.");
        }

        md.Append("\n\n| epoch | loss | accuracy | val_loss | val_accuracy | seconds |\n|---:|---:|---:|---:|---:|---:|\n");
        foreach (EpochMetrics e in History.Epochs)
        {
            md.Append(Inv, $"| {e.Epoch} | {e.Loss:0.0000} | {e.Accuracy:0.0000} | {Opt(e.ValidationLoss)} | {Opt(e.ValidationAccuracy)} | {e.Seconds:0.00} |\n");
        }

        md.Append("\n## 2. What accuracy did it reach?\n\n");
        EpochMetrics last = History.Epochs[^1];
        md.Append(Inv, $"Test accuracy **{Test.Accuracy:P2}** (test loss {Test.Loss:0.0000}) on {TestSamples:N0} unseen images; ")
          .Append(Inv, $"the right digit is among the two most probable for {Test.TopTwoAccuracy:P2}. ")
          .Append(Inv, $"In the last epoch: training accuracy {last.Accuracy:P2}");
        if (last.ValidationAccuracy is { } va)
        {
            md.Append(Inv, $", validation accuracy {va:P2}");
        }

        md.Append(".\n\n![loss and accuracy curves](curves.png)\n\n");

        md.Append("## 3. What do the confusion matrix and the ROC curves show?\n\n");
        ConfusionMatrix confusion = Test.Confusion;
        md.Append(Inv, $"Rows are true digits, columns predictions; the diagonal holds {confusion.Accuracy:P2} of the test set. ");
        var confused = confusion.MostConfused(5);
        if (confused.Count > 0)
        {
            md.Append("The most frequent confusions are ")
              .Append(string.Join(", ", confused.Select(c => string.Create(Inv, $"{c.Actual} taken for {c.Predicted} ({c.Count}×)"))))
              .Append(". ");
        }

        var scores = Test.Scores.Classes;
        var weakest = Enumerable.Range(0, scores.Count).OrderBy(c => scores[c].F1).Take(3).ToArray();
        md.Append("The weakest digits by F1 are ")
          .Append(string.Join(", ", weakest.Select(c => string.Create(Inv,
              $"{c} (F1 {scores[c].F1:0.000}, recall {scores[c].Recall:0.000}, precision {scores[c].Precision:0.000})"))))
          .Append(Inv, $"; the strongest is {Enumerable.Range(0, scores.Count).MaxBy(c => scores[c].F1)}.\n\n");
        md.Append("![confusion matrix: counts and normalized by true digit](confusion.png)\n\n");
        md.Append(Inv, $"Each ROC curve ranks the test images by the probability of one digit and plots the share of that digit found (true positive rate) against the share of other digits let in (false positive rate). ")
          .Append(Inv, $"The areas under them (AUC) average {Test.Roc.MacroAuc:0.0000} over the digits (micro average {Test.Roc.MicroAuc:0.0000}); ")
          .Append(Inv, $"the lowest is digit {Enumerable.Range(0, scores.Count).MinBy(c => Test.Roc.Classes[c].Auc)} ({Test.Roc.Classes.Min(c => c.Auc):0.0000}). An AUC of 1 separates a digit from all others perfectly, 0.5 is chance.\n\n");
        md.Append("![ROC curves](roc.png)\n\n| digit | precision | recall | F1 | support | ROC AUC |\n|---:|---:|---:|---:|---:|---:|\n");
        for (int c = 0; c < scores.Count; c++)
        {
            md.Append(Inv, $"| {c} | {scores[c].Precision:0.0000} | {scores[c].Recall:0.0000} | {scores[c].F1:0.0000} | {scores[c].Support} | {Test.Roc.Classes[c].Auc:0.0000} |\n");
        }

        ClassScores macro = Test.Scores.MacroAverage, weighted = Test.Scores.WeightedAverage;
        md.Append(Inv, $"| macro avg | {macro.Precision:0.0000} | {macro.Recall:0.0000} | {macro.F1:0.0000} | {macro.Support} | {Test.Roc.MacroAuc:0.0000} |\n")
          .Append(Inv, $"| weighted avg | {weighted.Precision:0.0000} | {weighted.Recall:0.0000} | {weighted.F1:0.0000} | {weighted.Support} | |\n")
          .Append(Inv, $"| micro avg | | | | | {Test.Roc.MicroAuc:0.0000} |\n\n");
        if (Test.Mistakes.Count > 0)
        {
            md.Append(Inv, $"The {Test.Mistakes.Count} test images the model got wrong with the most confidence (it gave its wrong answer {Test.Mistakes[^1].Confidence:P1} to {Test.Mistakes[0].Confidence:P1}):\n\n")
              .Append("![most confidently misclassified test images](misclassified.png)\n\n");
        }

        md.Append("## 4. Does it overfit?\n\n")
          .Append("**").Append(Overfitting.Answer).Append(".** ").Append(Overfitting.Evidence).Append("\n\n")
          .Append("Advice: ").Append(Overfitting.Advice).Append("\n\n")
          .Append("Rule: ").Append(OverfittingVerdict.Rule).Append("\n\n## Model\n\n```\n").Append(Summary).Append("```\n");
        return md.ToString();

        static string Opt(double? value) => value is { } v ? v.ToString("0.0000", Inv) : "-";
    }
}
