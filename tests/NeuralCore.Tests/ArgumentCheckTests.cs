using NeuralCore.Data;
using NeuralCore.Layers;
using NeuralCore.Losses;
using NeuralCore.Models;
using NeuralCore.Optimizers;
using NeuralCore.Scoring;
using NeuralCore.Tests.Training;
using NeuralCore.Training;

namespace NeuralCore.Tests;

/// <summary>
/// Each argument check that goes through <see cref="Check"/>, with a bad argument: the exception type, the parameter it
/// names, and a message that shows the parameter and the value it received.
/// </summary>
public class ArgumentCheckTests
{
    public static TheoryData<string, Action, string, string> OutOfRange() => new()
    {
        { "Evaluate count", () => FitTests.Model().Evaluate(new float[2], new int[1], -1), "count", "count=-1" },
        { "Evaluate batchSize", () => FitTests.Model().Evaluate(new float[2], new int[1], 1, 0), "batchSize", "batchSize=0" },
        { "Evaluate targets batchSize", () => FitTests.Model().Evaluate(new float[2], new float[4], 1, -3), "batchSize", "batchSize=-3" },
        { "Predict count", () => FitTests.Model().Predict(new float[2], -2), "count", "count=-2" },
        { "PredictClasses batchSize", () => FitTests.Model().PredictClasses(new float[2], 1, 0), "batchSize", "batchSize=0" },
        { "ConfusionMatrix count", () => FitTests.Model().ConfusionMatrix(new float[2], new int[1], -1), "count", "count=-1" },
        { "EarlyStopping patience", () => _ = new EarlyStopping(patience: -1), "patience", "patience=-1" },
        { "EarlyStopping startFromEpoch", () => _ = new EarlyStopping(startFromEpoch: -2), "startFromEpoch", "startFromEpoch=-2" },
        { "EarlyStopping baseline", () => _ = new EarlyStopping(baseline: double.NaN), "baseline", "baseline=NaN" },
        { "ReduceLROnPlateau patience", () => _ = new ReduceLROnPlateau(patience: -1), "patience", "patience=-1" },
        { "ReduceLROnPlateau cooldown", () => _ = new ReduceLROnPlateau(cooldown: -4), "cooldown", "cooldown=-4" },
        { "TopK k zero", () => Metrics.CountInTopK([0.1f, 0.9f], [1], 1, 2, 0), "k", "k=0" },
        { "TopK k above classes", () => Metrics.CountInTopK([0.1f, 0.9f], [1], 1, 2, 3), "k", "k=3" },
        { "TopKAccuracy batch", () => Metrics.TopKAccuracy([0.1f, 0.9f], [1], 0, 2, 1), "batch", "batch=0" },
        { "ArgMax batch", () => Metrics.ArgMax([0.1f, 0.9f], new int[1], -1, 2), "batch", "batch=-1" },
        { "ArgMax classes", () => Metrics.ArgMax([0.1f, 0.9f], new int[1], 1, 0), "classes", "classes=0" },
        { "Accuracy threshold", () => Metrics.CountCorrect([0.7f], LossTargets.FromLabels([1]), 1, 1, AccuracyKind.Binary, float.NaN), "threshold", "threshold=NaN" },
        { "Regression outputs", () => Metrics.Regression([1f], [1f], 0), "outputs", "outputs=0" },
        { "ConfusionMatrix classes", () => _ = new ConfusionMatrix([0], [0], 0), "classes", "classes=0" },
        { "ConfusionMatrix actual", () => _ = new ConfusionMatrix([0], [0], 2)[2, 0], "actual", "actual=2" },
        { "ConfusionMatrix predicted", () => _ = new ConfusionMatrix([0], [0], 2)[0, -1], "predicted", "predicted=-1" },
        { "ConfusionMatrix MostConfused", () => new ConfusionMatrix([0], [0], 2).MostConfused(-1), "count", "count=-1" },
        { "ClassificationReport digits", () => new ClassificationReport(new ConfusionMatrix([0, 1], [0, 1], 2)).ToString(16), "digits", "digits=16" },
        { "MulticlassRoc count", () => MulticlassRoc.Compute([0.1f, 0.9f], [1], 0, 2), "count", "count=0" },
        { "MulticlassRoc classes", () => MulticlassRoc.Compute([0.1f, 0.9f], [0, 0], 2, 1), "classes", "classes=1" },
        { "Relu negativeSlope", () => _ = new Relu { NegativeSlope = -0.5f }, "value", "negativeSlope=-0.5" },
        { "Relu threshold", () => _ = new Relu { Threshold = float.NaN }, "value", "threshold=NaN" },
        { "Relu maxValue", () => _ = new Relu { MaxValue = -1f }, "value", "maxValue=-1" },
        { "Schedule iteration", () => new ExponentialDecay(0.1f, 10, 0.5f).Rate(-1), "iteration", "iteration=-1" },
        { "Optimizer iterations", () => new Sgd(0.1f).SetIterations(-1), "iterations", "iterations=-1" },
        { "Dataset count", () => Dataset.SplitIndex(-1, 0.2), "count", "count=-1" },
        { "RocCurve fpr", () => RocCurve.Compute([0.1f, 0.9f], [false, true]).TruePositiveRateAt(1.5), "fpr", "fpr=1.5" },
        { "OneCycle totalSteps", () => _ = new OneCycle(0.1f, 1), "totalSteps", "totalSteps=1" },
        { "PRelu initialAlpha", () => _ = new PRelu(float.PositiveInfinity), "initialAlpha", "initialAlpha=Infinity" },
        { "Adafactor beta2Decay", () => _ = new Adafactor(new AdafactorOptions { Beta2Decay = 0.5f }), "Beta2Decay", "beta2Decay=0.5" },
        { "Ftrl learningRatePower", () => _ = new Ftrl(new FtrlOptions { LearningRatePower = float.NegativeInfinity }), "LearningRatePower", "learningRatePower=-Infinity" },
        { "Compile maxBatchSize", () => new Sequential(2).Add(new Dense(1)).Compile(new MeanSquaredError(), new Sgd(0.1f), -1), "maxBatchSize", "maxBatchSize=-1" },
        { "ModelCheckpoint initialValueThreshold", () => _ = new ModelCheckpoint("model.ncm", initialValueThreshold: double.NaN), "initialValueThreshold", "initialValueThreshold=NaN" },
        { "ModelCheckpoint saveFrequency", () => _ = new ModelCheckpoint("model.ncm", saveFrequency: -1), "saveFrequency", "saveFrequency=-1" },
        { "NumericTable skipLines", () => NumericTable.Read(new StringReader("1,2\n"), "table", -1), "skipLines", "skipLines=-1" },
        { "Standardizer columns", () => Standardizer.Fit([1f, 2f], 0), "columns", "columns=0" },
        { "DatasetAdapters featureSize", () => DatasetAdapters.FromSpan([1f, 2f], [0], 0), "featureSize", "featureSize=0" },
        { "IdxReader maxElements", () => IdxReader.Read(new MemoryStream(), "idx", -1), "maxElements", "maxElements=-1" },
        { "IdxReader maxElements above", () => IdxReader.Read(new MemoryStream(), "idx", IdxReader.MaxElements + 1L), "maxElements", $"maxElements={IdxReader.MaxElements + 1L}" },
    };

    [Theory]
    [MemberData(nameof(OutOfRange))]
    public void An_argument_out_of_range_is_named_with_its_value(string call, Action act, string paramName, string received)
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(act);
        Assert.True(paramName == e.ParamName, $"{call}: ParamName {e.ParamName}");
        Assert.Contains($"Received: {received}.", e.Message, StringComparison.Ordinal);
    }

    public static TheoryData<string, Action, string, string> Invalid() => new()
    {
        { "ArgMax predictions", () => Metrics.ArgMax([0.1f, 0.9f, 0.3f, 0.7f], new int[1], 2, 2), "predictions", "predictions holds 1 values but [batch=2] needs 2." },
        { "CountCorrect output", () => Metrics.CountCorrect([0.1f, 0.9f, 0.3f], [0, 1], 2, 2), "output", "output holds 3 floats but [batch=2, classes=2] needs 4." },
        { "CountCorrect labels", () => Metrics.CountCorrect([0.1f, 0.9f, 0.3f, 0.7f], [0], 2, 2), "labels", "labels holds 1 values but [batch=2] needs 2." },
        { "CountCorrect label", () => Metrics.CountCorrect([0.1f, 0.9f, 0.3f, 0.7f], [0, 2], 2, 2), "labels", "labels[1] = 2 is outside [0, 2)." },
        { "CountInTopK labels", () => Metrics.CountInTopK([0.1f, 0.9f, 0.3f, 0.7f], [0], 2, 2, 1), "labels", "labels holds 1 values but [batch=2] needs 2." },
        { "CountInTopK label", () => Metrics.CountInTopK([0.1f, 0.9f, 0.3f, 0.7f], [-1, 0], 2, 2, 1), "labels", "labels[0] = -1 is outside [0, 2)." },
        { "ConfusionMatrix lengths", () => _ = new ConfusionMatrix([0, 1], [0], 2), "predictions", "labels holds 2 values but predictions holds 1." },
        { "ConfusionMatrix prediction", () => _ = new ConfusionMatrix([0, 1], [0, 3], 2), "predictions", "predictions[1] = 3 is outside [0, 2)." },
        { "MulticlassRoc scores", () => MulticlassRoc.Compute([0.1f, 0.9f, 0.3f], [0, 1], 2, 2), "scores", "scores holds 3 values but [count=2, classes=2] needs 4." },
        { "MulticlassRoc labels", () => MulticlassRoc.Compute([0.1f, 0.9f, 0.3f, 0.7f], [0], 2, 2), "labels", "labels holds 1 values but [count=2] needs 2." },
        { "MulticlassRoc label", () => MulticlassRoc.Compute([0.1f, 0.9f, 0.3f, 0.7f], [0, 5], 2, 2), "labels", "labels[1] = 5 is outside [0, 2)." },
        { "RocCurve lengths", () => RocCurve.Compute([0.1f, 0.9f], [true]), "positive", "scores holds 2 values but positive holds 1." },
        { "Dataset sample weight", () => Dataset.FromBytes(new byte[4], [0, 1], 2, 255f).WithSampleWeights([1f, -0.5f]), "weights", "Sample weight 1 is -0.5: weights must be non-negative and finite." },
        {
            "Fit class weight",
            () => FitTests.Model().Fit(new float[8], [0, 1, 2, 3], new FitOptions { Epochs = 1, ClassWeights = new Dictionary<int, float> { [1] = -2f } }),
            "options", "Class weight 1 is -2: weights must be non-negative and finite."
        },
    };

    [Theory]
    [MemberData(nameof(Invalid))]
    public void An_invalid_argument_is_named_with_what_it_holds(string call, Action act, string paramName, string message)
    {
        var e = Assert.Throws<ArgumentException>(act);
        Assert.True(paramName == e.ParamName, $"{call}: ParamName {e.ParamName}");
        Assert.StartsWith(message, e.Message, StringComparison.Ordinal);
    }
}
