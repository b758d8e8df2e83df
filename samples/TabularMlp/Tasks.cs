using System.Diagnostics;
using System.Globalization;
using NeuralCore.Data;
using NeuralCore.Layers;
using NeuralCore.Losses;
using NeuralCore.Models;
using NeuralCore.Optimizers;
using NeuralCore.Scoring;
using NeuralCore.Training;

namespace TabularMlp;

/// <summary>What <c>--csv</c> trains on: the file, its label column and how its columns are read.</summary>
internal sealed record CsvSettings(string Path, string Label, LabelKind Task, IReadOnlyList<string> Ignore, IReadOnlyList<string> Categorical, int Hidden, double TestFraction,
    char DecimalSeparator = '.', string? Loss = null);

/// <summary>
/// One model's test results; from cross-validation, each metric's mean over the folds, with its standard deviation in
/// <see cref="Spread"/>, the epochs' mean and the seconds' total.
/// </summary>
internal sealed record ModelResult(string Model, string Description, IReadOnlyDictionary<string, double> Test, int Epochs, double Seconds)
{
    /// <summary>Each metric's standard deviation over the folds (sample, n - 1), or null for one split.</summary>
    public IReadOnlyDictionary<string, double>? Spread { get; init; }
}

/// <summary>
/// The four tasks: each splits its data 80/20 with a seed, standardizes with the training part's statistics (a
/// <see cref="Standardizer"/> beside the model, or for wine a <see cref="Normalization"/> layer inside it), then scores
/// a baseline, a one-Dense-layer model and a small MLP on the held-out 20%.
/// </summary>
internal static class Tasks
{
    /// <summary>Regression on diabetes: mean predictor, linear regression (Dense(1)), MLP; MAE, RMSE and R² in the target's units.</summary>
    public static IReadOnlyList<ModelResult> Diabetes(Dataset data, ulong seed, int epochs)
    {
        (Dataset train, Dataset test) = data.SplitShuffled(0.2, seed);
        return Diabetes(train, test, seed, epochs);
    }

    /// <summary><see cref="Diabetes(Dataset, ulong, int)"/> on a given training and test part.</summary>
    public static IReadOnlyList<ModelResult> Diabetes(Dataset train, Dataset test, ulong seed, int epochs)
    {
        Standardizer x = Standardizer.Fit(train.Features, train.FeatureSize);
        Standardizer y = Standardizer.Fit(train.Targets, 1);
        Dataset scaledTrain = Scaled(train, x, y), scaledTest = Scaled(test, x, y);

        var results = new List<ModelResult>();
        float mean = (float)y.Means[0];
        float[] baseline = [.. Enumerable.Repeat(mean, test.Count)];
        results.Add(new ModelResult("mean predictor", "predicts the training targets' mean", Regression(baseline, test.Targets), 0, 0));

        results.Add(FitRegression("linear regression", "Dense(1), MSE, Adam(0.01), early stopping",
            new Sequential(10, seed).Add(new Dense(1)), scaledTrain, scaledTest, test, y, epochs, seed));
        results.Add(FitRegression("MLP", "Dense(32, relu) → Dense(1), MSE, Adam(0.01), early stopping",
            new Sequential(10, seed).Add(new Dense(32, Activation.Relu)).Add(new Dense(1)), scaledTrain, scaledTest, test, y, epochs, seed));
        return results;
    }

    /// <summary>Binary classification on breast cancer: majority class, logistic regression (Dense(1) + sigmoid), MLP.</summary>
    /// <exception cref="InvalidDataException">The training part holds only one class.</exception>
    public static IReadOnlyList<ModelResult> BreastCancer(Dataset data, ulong seed, int epochs)
    {
        (Dataset train, Dataset test) = data.SplitShuffled(0.2, seed);
        return BreastCancer(train, test, seed, epochs);
    }

    /// <summary><see cref="BreastCancer(Dataset, ulong, int)"/> on a given training and test part.</summary>
    /// <exception cref="InvalidDataException">The training part holds only one class.</exception>
    public static IReadOnlyList<ModelResult> BreastCancer(Dataset train, Dataset test, ulong seed, int epochs)
    {
        RequireBothClasses(train);
        Standardizer x = Standardizer.Fit(train.Features, train.FeatureSize);
        Dataset scaledTrain = Scaled(train, x, null), scaledTest = Scaled(test, x, null);

        var results = new List<ModelResult>();
        int majority = train.Labels.Count(l => l == 1) * 2 >= train.Count ? 1 : 0;
        double majorityAccuracy = test.Labels.Count(l => l == majority) / (double)test.Count;
        results.Add(new ModelResult("majority class", $"always predicts {(majority == 1 ? "benign" : "malignant")}",
            new Dictionary<string, double> { ["accuracy"] = majorityAccuracy }, 0, 0));

        results.Add(FitBinary("logistic regression", "Dense(1) on logits, binary cross-entropy, Adam(0.01), early stopping",
            new Sequential(30, seed).Add(new Dense(1)), scaledTrain, scaledTest, epochs, seed));
        results.Add(FitBinary("MLP", "Dense(16, relu) → Dense(1), binary cross-entropy, Adam(0.01), early stopping",
            new Sequential(30, seed).Add(new Dense(16, Activation.Relu)).Add(new Dense(1)), scaledTrain, scaledTest, epochs, seed));
        return results;
    }

    /// <summary>
    /// Three-class classification on wine: majority class, softmax regression (Dense(3)) and an MLP, each taking the raw
    /// measurements through a <see cref="Normalization"/> layer adapted to the training part, so that the models (and
    /// their files) need no scaler beside them: the features run from hues near 1 to prolines near 1,000.
    /// </summary>
    public static IReadOnlyList<ModelResult> Wine(Dataset data, ulong seed, int epochs)
    {
        (Dataset train, Dataset test) = data.SplitShuffled(0.2, seed);
        return Wine(train, test, seed, epochs);
    }

    /// <summary><see cref="Wine(Dataset, ulong, int)"/> on a given training and test part.</summary>
    public static IReadOnlyList<ModelResult> Wine(Dataset train, Dataset test, ulong seed, int epochs)
    {
        var results = new List<ModelResult>();
        int majority = Enumerable.Range(0, 3).MaxBy(c => train.Labels.Count(l => l == c));
        results.Add(new ModelResult("majority class", $"always predicts cultivar {majority}",
            new Dictionary<string, double> { ["accuracy"] = test.Labels.Count(l => l == majority) / (double)test.Count }, 0, 0));
        results.Add(FitMulticlass("softmax regression", "Normalization (adapted) → Dense(3) on logits, cross-entropy, Adam(0.01), early stopping",
            new Sequential(13, seed).Add(Adapted(train)).Add(new Dense(3)), train, test, epochs, seed));
        results.Add(FitMulticlass("MLP", "Normalization (adapted) → Dense(16, relu) → Dense(3), cross-entropy, Adam(0.01), early stopping",
            new Sequential(13, seed).Add(Adapted(train)).Add(new Dense(16, Activation.Relu)).Add(new Dense(3)), train, test, epochs, seed));
        return results;
    }

    /// <summary>
    /// Three-class classification on Palmer penguins, whose columns mix words and numbers: the text is split 80/20, a
    /// <see cref="TableEncoder"/> fitted on the training part one-hot encodes the island and the sex (a missing sex is
    /// its own category) and fills the two rows of missing measurements with the training means; then majority class,
    /// softmax regression and an MLP, each behind a <see cref="Normalization"/> layer adapted to the encoded training part.
    /// </summary>
    public static IReadOnlyList<ModelResult> Penguins(TextTable table, ulong seed, int epochs)
    {
        (TextTable trainText, TextTable testText) = table.SplitShuffled(0.2, seed);
        return Penguins(trainText, testText, seed, epochs);
    }

    /// <summary><see cref="Penguins(TextTable, ulong, int)"/> on a given training and test part of the text.</summary>
    public static IReadOnlyList<ModelResult> Penguins(TextTable trainText, TextTable testText, ulong seed, int epochs)
    {
        TableEncoder encoder = TableEncoder.Fit(trainText, label: "species", new TableEncoderOptions { MissingNumbers = MissingNumbers.Mean });
        Dataset train = encoder.Transform(trainText), test = encoder.Transform(testText);
        int classes = encoder.Classes!.Count, features = encoder.FeatureSize;
        var results = new List<ModelResult>();
        int majority = Enumerable.Range(0, classes).MaxBy(c => train.Labels.Count(l => l == c));
        results.Add(new ModelResult("majority class", $"always predicts {encoder.Classes[majority]}",
            new Dictionary<string, double> { ["accuracy"] = test.Labels.Count(l => l == majority) / (double)test.Count }, 0, 0));
        results.Add(FitMulticlass("softmax regression", $"TableEncoder ({features} features) → Normalization (adapted) → Dense({classes}) on logits, cross-entropy, Adam(0.01), early stopping",
            new Sequential(features, seed).Add(Adapted(train)).Add(new Dense(classes)), train, test, epochs, seed));
        results.Add(FitMulticlass("MLP", $"TableEncoder ({features} features) → Normalization (adapted) → Dense(16, relu) → Dense({classes}), cross-entropy, Adam(0.01), early stopping",
            new Sequential(features, seed).Add(Adapted(train)).Add(new Dense(16, Activation.Relu)).Add(new Dense(classes)), train, test, epochs, seed));
        return results;
    }

    // Each feature's mean and variance over the training part: the model standardizes raw inputs itself.
    private static Normalization Adapted(Dataset train)
    {
        var normalization = new Normalization();
        normalization.Adapt(train.Features, train.Count);
        return normalization;
    }

    private static ModelResult FitMulticlass(string name, string description, Sequential model, Dataset train, Dataset test, int epochs, ulong seed,
        ILoss? loss = null) =>
        FitClassifier(name, description, model, loss ?? new SoftmaxCrossEntropy(), train, test, epochs, seed,
            confusion => new() { ["macro F1"] = MacroF1(confusion) });

    /// <summary>
    /// scikit-learn's <c>f1_score(average='macro')</c>: the mean F1 over the classes that occur in the truth or the
    /// predictions. Over every class, one absent from a fold's test rows and never predicted counted as 0.
    /// </summary>
    public static double MacroF1(ConfusionMatrix confusion)
    {
        int classes = confusion.Classes;
        int[] present = [.. Enumerable.Range(0, classes).Where(c => confusion.Support(c) > 0 || Enumerable.Range(0, classes).Any(a => confusion[a, c] > 0))];
        return present.Length == 0 ? 0 : present.Average(confusion.F1);
    }

    /// <summary>
    /// Any CSV with a header: the text is split with <paramref name="settings"/>' test fraction, a
    /// <see cref="TableEncoder"/> fitted on the training part encodes both parts (missing numbers filled with the
    /// training means, categories unseen in training encoded as zeros), and a baseline, a one-Dense-layer model and an
    /// MLP of <see cref="CsvSettings.Hidden"/> units are scored on the test part: a classification when the label holds
    /// classes, a regression when it holds numbers. Every model takes the encoded features raw (an adapted
    /// <see cref="Normalization"/> first) and a regression's gives the label's own units (an inverted one last).
    /// </summary>
    /// <returns>The results, the fitted encoder and the trained MLP, which reads the encoder's features.</returns>
    /// <exception cref="InvalidDataException">
    /// Too few rows, a regression's test part of one row (its R² is undefined) or label whose variance is past float32's
    /// range, or a test row whose class the training part lacks.
    /// </exception>
    /// <exception cref="ArgumentException">The label or a named column is not in the table, a field cannot be encoded (row, column and value named), or the training part's label holds one class only.</exception>
    public static (IReadOnlyList<ModelResult> Results, TableEncoder Encoder, Sequential Mlp, int Unlabelled) Csv(TextTable table, CsvSettings settings, ulong seed, int epochs)
    {
        // Rows without a label can neither train nor be scored: left out, and counted in the report.
        (table, int unlabelled) = Labelled(table, settings);
        (TextTable trainText, TextTable testText) = table.SplitShuffled(settings.TestFraction, seed);

        // R² needs two test rows: a test part of one gave NaN, reported as a result (cross-validation refuses folds of
        // one row likewise). A classifier's accuracy is defined on one row, so only a regression is refused.
        if (testText.Rows < 2 && TableEncoder.Fit(trainText, settings.Label, EncoderOptions(settings)).Classes is null)
        {
            int percent = 5;
            while (Math.Ceiling(table.Rows * (percent / 100.0)) < 2)
            {
                percent++;
            }

            throw new InvalidDataException(string.Create(CultureInfo.InvariantCulture,
                $"{Path.GetFileName(settings.Path)}: --test-split {settings.TestFraction} of {table.Rows} labelled rows holds out 1 test row, whose R² is undefined; use --test-split {percent / 100.0} or more."));
        }

        (IReadOnlyList<ModelResult> results, TableEncoder encoder, Sequential mlp) = CsvOnParts(trainText, testText, settings, seed, epochs);
        return (results, encoder, mlp, unlabelled);
    }

    /// <summary>How <c>--csv</c> encodes a table: the settings' columns and separator, missing numbers filled with the training means, unseen categories as zeros.</summary>
    public static TableEncoderOptions EncoderOptions(CsvSettings settings) => new()
    {
        Ignore = settings.Ignore,
        Categorical = settings.Categorical,
        LabelKind = settings.Task,
        MissingNumbers = MissingNumbers.Mean,
        UnknownCategories = UnknownCategories.AllZero,
        DecimalSeparator = settings.DecimalSeparator,
    };

    /// <summary>The rows of <paramref name="table"/> with a label (<see cref="Csv"/> leaves the others out), and how many lack one.</summary>
    /// <exception cref="InvalidDataException">Fewer than 10 rows have a label.</exception>
    public static (TextTable Labelled, int Unlabelled) Labelled(TextTable table, CsvSettings settings)
    {
        var markers = new HashSet<string>(new TableEncoderOptions().MissingMarkers, StringComparer.Ordinal);
        IReadOnlyList<string> labels = table.Column(settings.Label);
        int[] labelled = [.. Enumerable.Range(0, table.Rows).Where(r => !markers.Contains(labels[r]))];
        if (labelled.Length < 10)
        {
            throw new InvalidDataException($"{Path.GetFileName(settings.Path)} holds {labelled.Length} rows with a label; at least 10 are needed to hold out a test part and a validation part.");
        }

        return (table.Subset(labelled), table.Rows - labelled.Length);
    }

    /// <summary>
    /// <see cref="Csv"/>'s models on a given training and test part of the (labelled) text: the encoder fitted on the
    /// training part only.
    /// </summary>
    /// <exception cref="InvalidDataException">
    /// One class only, a regression label whose variance is past float32's range, or a test row whose class the training
    /// part lacks.
    /// </exception>
    public static (IReadOnlyList<ModelResult> Results, TableEncoder Encoder, Sequential Mlp) CsvOnParts(TextTable trainText, TextTable testText, CsvSettings settings,
        ulong seed, int epochs)
    {
        string file = Path.GetFileName(settings.Path);
        TableEncoder encoder = TableEncoder.Fit(trainText, settings.Label, EncoderOptions(settings));
        int features = encoder.FeatureSize, hidden = settings.Hidden;
        Dataset train = encoder.Transform(trainText);
        if (settings.Loss is { } lossName && CsvLosses.IsClassification(lossName) != (encoder.Classes is not null))
        {
            throw new InvalidDataException(encoder.Classes is not null
                ? $"{file}: --loss {lossName} scores quantities, but '{settings.Label}' holds classes ({encoder.Classes.Count}); use --loss crossentropy or focal, or --task regression if the classes are numbers to regress."
                : $"{file}: --loss {lossName} scores classes, but '{settings.Label}' holds numbers, read as a quantity; use a regression loss, or --task classification if they are classes.");
        }

        string lossText = encoder.Classes is not null ? CsvLosses.Describe(settings.Loss ?? "crossentropy") : CsvLosses.Describe(settings.Loss ?? "mse");
        if (encoder.Classes is { } names)
        {
            // A class that only the test part holds cannot be scored: named here, rather than as the encoder's
            // unseen-class error, which would not say why it was unseen.
            if (testText.Column(settings.Label).FirstOrDefault(c => !names.Contains(c)) is { } unseen)
            {
                throw new InvalidDataException(
                    $"{file}: the test part holds the class '{unseen}' of '{settings.Label}', which the training part does not; use more rows, another --seed, or a smaller --test-split.");
            }

            Dataset test = encoder.Transform(testText);

            int classes = names.Count;
            int majority = Enumerable.Range(0, classes).MaxBy(c => train.Labels.Count(l => l == c));
            var linear = new Sequential(features, seed).Add(Adapted(train)).Add(new Dense(classes));
            var mlp = new Sequential(features, seed).Add(Adapted(train)).Add(new Dense(hidden, Activation.Relu)).Add(new Dense(classes));
            IReadOnlyList<ModelResult> results =
            [
                new ModelResult("majority class", $"always predicts {names[majority]}",
                    new Dictionary<string, double> { ["accuracy"] = test.Labels.Count(l => l == majority) / (double)test.Count }, 0, 0),
                FitMulticlass("softmax regression", $"TableEncoder ({features} features) → Normalization (adapted) → Dense({classes}) on logits, {lossText}, Adam(0.01), early stopping",
                    linear, train, test, epochs, seed, CsvLosses.Classifier(settings.Loss)),
                FitMulticlass("MLP", $"TableEncoder ({features} features) → Normalization (adapted) → Dense({hidden}, relu) → Dense({classes}), {lossText}, Adam(0.01), early stopping",
                    mlp, train, test, epochs, seed, CsvLosses.Classifier(settings.Loss)),
            ];
            return (results, encoder, mlp);
        }
        else
        {
            Dataset test = encoder.Transform(testText);
            if (CsvLosses.NeedsPositiveOutputs(settings.Loss) && train.Targets.Concat(test.Targets).Where(t => t < 0).ToArray() is { Length: > 0 } negative)
            {
                // Named with the option: the loss's own refusal named train.Targets and neither --loss nor the label.
                throw new InvalidDataException(string.Create(CultureInfo.InvariantCulture,
                    $"{file}: --loss {settings.Loss} takes the logarithm of '{settings.Label}', which must not be negative, and {negative.Length} of its values {(negative.Length == 1 ? "is" : "are")} (the least {negative.Min()}); use --loss mse, mae or huber."));
            }

            Standardizer y = Standardizer.Fit(train.Targets, 1);
            float mean = (float)y.Means[0];
            // The layer holds the variance, the square of the scale, as a float: squared exactly in double, it is
            // refused by the label's name when float32 cannot hold it (a scale above about 1.8E+19), where the float
            // square became Infinity and Normalization's refusal named only "Feature 0".
            double variance = y.Scales[0] * y.Scales[0];
            if (float.IsInfinity((float)variance))
            {
                throw new InvalidDataException(string.Create(CultureInfo.InvariantCulture,
                    $"{file}: '{settings.Label}' spreads too widely for float32: its standard deviation over the training part, {y.Scales[0]:G4}, squared is {variance:G4}, past float32's largest value ({float.MaxValue:G4}), and the models hold that variance to predict in its units; divide the label by a power of ten first."));
            }

            // The targets' statistics undone after the last Dense layer: the model learns standardized targets and
            // predicts in the label's units.
            Normalization Units() => new([mean], [(float)variance], invert: true);

            // A loss of a logarithm of the outputs (MSLE, Poisson) needs them positive: a Softplus after the units.
            bool positive = CsvLosses.NeedsPositiveOutputs(settings.Loss);
            Sequential Ending(Sequential model) => positive ? model.Add(new Softplus()) : model;
            string tail = positive ? " → Softplus" : "";
            var linear = Ending(new Sequential(features, seed).Add(Adapted(train)).Add(new Dense(1)).Add(Units()));
            var mlp = Ending(new Sequential(features, seed).Add(Adapted(train)).Add(new Dense(hidden, Activation.Relu)).Add(new Dense(1)).Add(Units()));
            IReadOnlyList<ModelResult> results =
            [
                new ModelResult("mean predictor", "predicts the training targets' mean", Regression([.. Enumerable.Repeat(mean, test.Count)], test.Targets), 0, 0),
                FitRawRegression("linear regression", $"TableEncoder ({features} features) → Normalization (adapted) → Dense(1) → Normalization (inverted, the targets'){tail}, {lossText}, Adam(0.01), early stopping",
                    linear, train, test, epochs, seed, CsvLosses.Regressor(settings.Loss)),
                FitRawRegression("MLP", $"TableEncoder ({features} features) → Normalization (adapted) → Dense({hidden}, relu) → Dense(1) → Normalization (inverted){tail}, {lossText}, Adam(0.01), early stopping",
                    mlp, train, test, epochs, seed, CsvLosses.Regressor(settings.Loss)),
            ];
            return (results, encoder, mlp);
        }
    }

    /// <summary>
    /// k-fold cross-validation: <paramref name="run"/> trains and scores on every fold's training rows (all folds but
    /// one) and test rows (that fold); each model's metrics are averaged over the folds, with their sample standard
    /// deviations, its epochs averaged and its seconds added up.
    /// </summary>
    /// <param name="fold">Each row's fold (<see cref="DatasetSplits.PlainFoldAssignment"/> or <see cref="DatasetSplits.StratifiedFoldAssignment"/>).</param>
    /// <param name="folds">The number of folds.</param>
    /// <param name="seed">The seed of each fold's order of training rows.</param>
    /// <param name="run">The task on one fold: its training rows (shuffled) and its test rows (in order).</param>
    public static IReadOnlyList<ModelResult> CrossValidate(int[] fold, int folds, ulong seed, Func<int[], int[], IReadOnlyList<ModelResult>> run)
    {
        var perFold = new List<IReadOnlyList<ModelResult>>(folds);
        for (int f = 0; f < folds; f++)
        {
            int[] rows = [.. Enumerable.Range(0, fold.Length).Where(i => fold[i] != f)], test = [.. Enumerable.Range(0, fold.Length).Where(i => fold[i] == f)];

            // Shuffled: the models hold out the last fifth of their training rows for early stopping (Keras's rule),
            // which in a file sorted by class (penguins) was one species, never trained on (76% and 64% accuracy).
            int[] order = Permutation.Create(rows.Length, seed + (ulong)f);
            int[] train = [.. order.Select(i => rows[i])];
            perFold.Add(run(train, test));
        }

        var results = new List<ModelResult>();
        foreach (ModelResult first in perFold[0])
        {
            ModelResult[] all = [.. perFold.Select(results => results.Single(r => r.Model == first.Model))];
            var means = new Dictionary<string, double>();
            var spreads = new Dictionary<string, double>();
            foreach (string metric in first.Test.Keys)
            {
                double[] values = [.. all.Select(r => r.Test[metric])];
                double mean = values.Average();
                means[metric] = mean;
                spreads[metric] = Math.Sqrt(values.Sum(v => (v - mean) * (v - mean)) / (values.Length - 1));
            }

            // Each fold's own: the majority class, or the encoded features' count, may differ from fold to fold.
            var descriptions = all.GroupBy(r => r.Description, StringComparer.Ordinal).ToList();
            string description = descriptions.Count == 1
                ? first.Description
                : string.Join("; ", descriptions.Select(g => $"{g.Key} ({g.Count()} fold{(g.Count() > 1 ? "s" : "")})"));
            results.Add(new ModelResult(first.Model, description, means, (int)Math.Round(all.Average(r => r.Epochs)), all.Sum(r => r.Seconds)) { Spread = spreads });
        }

        return results;
    }

    /// <summary>Class codes in the order each class first appears, for stratifying the rows of a text column.</summary>
    public static int[] Codes(IReadOnlyList<string> labels)
    {
        var codes = new Dictionary<string, int>(StringComparer.Ordinal);
        return [.. labels.Select(l => codes.TryGetValue(l, out int c) ? c : codes[l] = codes.Count)];
    }

    private static ModelResult FitRawRegression(string name, string description, Sequential model, Dataset train, Dataset test, int epochs, ulong seed,
        ILoss? loss = null)
    {
        model.Compile(loss ?? new MeanSquaredError(), new Adam(0.01f), metrics: ["mae"]);
        var timer = Stopwatch.StartNew();
        History history = model.Fit(train, Options(epochs, seed));
        double seconds = timer.Elapsed.TotalSeconds;
        return new ModelResult(name, description, Regression(model.Predict(test), test.Targets), history.Epochs.Count, seconds);
    }

    // Refused rather than warned about: a classifier that sees one class learns to predict it always, and the report
    // would then show the other class's recall and precision as 0, read as a measured failure, next to an accuracy
    // that only restates the class balance of the test part.
    private static void RequireBothClasses(Dataset train)
    {
        int benign = train.Labels.Count(l => l == 1);
        if (benign == 0 || benign == train.Count)
        {
            throw new InvalidDataException(
                $"The training part ({train.Count} tumours) holds only class {(benign == 0 ? "0 (malignant)" : "1 (benign)")}: a classifier needs examples of both to learn. Check the label column.");
        }
    }

    private static ModelResult FitRegression(string name, string description, Sequential model, Dataset train, Dataset test,
        Dataset rawTest, Standardizer y, int epochs, ulong seed)
    {
        model.Compile(new MeanSquaredError(), new Adam(0.01f), metrics: ["mae"]);
        var timer = Stopwatch.StartNew();
        History history = model.Fit(train, Options(epochs, seed));
        double seconds = timer.Elapsed.TotalSeconds;

        // Predictions back in the target's units, so the errors read as disease-progression points.
        float[] predictions = model.Predict(test);
        y.InverseTransform(predictions);
        return new ModelResult(name, description, Regression(predictions, rawTest.Targets), history.Epochs.Count, seconds);
    }

    // With Keras's AUC metric compiled: the test part's area under the ROC curve is reported beside the confusion figures.
    private static ModelResult FitBinary(string name, string description, Sequential model, Dataset train, Dataset test, int epochs, ulong seed) =>
        FitClassifier(name, description, model, new BinaryCrossentropy(fromLogits: true), train, test, epochs, seed,
            confusion => new() { ["malignant recall"] = confusion.Recall(0), ["malignant precision"] = confusion.Precision(0) }, ["accuracy", "auc"]);

    // Trains a classifier with Adam(0.01) and early stopping, and scores it on the test part: accuracy, loss, and the
    // task's own figures from the confusion matrix.
    private static ModelResult FitClassifier(string name, string description, Sequential model, ILoss loss, Dataset train, Dataset test,
        int epochs, ulong seed, Func<ConfusionMatrix, Dictionary<string, double>> scores, IReadOnlyList<string>? compiledMetrics = null)
    {
        model.Compile(loss, new Adam(0.01f), metrics: compiledMetrics);
        var timer = Stopwatch.StartNew();
        History history = model.Fit(train, Options(epochs, seed));
        double seconds = timer.Elapsed.TotalSeconds;
        Evaluation evaluation = model.Evaluate(test);
        Dictionary<string, double> metrics = scores(model.ConfusionMatrix(test));
        metrics["accuracy"] = evaluation.Accuracy;
        metrics["loss"] = evaluation.Loss;
        if (evaluation.Metrics.TryGetValue("auc", out double auc))
        {
            metrics["ROC AUC"] = auc;
        }

        return new ModelResult(name, description, metrics, history.Epochs.Count, seconds);
    }

    // A fifth of the training part validates; training stops when its loss has not improved for 20 epochs and keeps
    // the best weights.
    private static FitOptions Options(int epochs, ulong seed) => new()
    {
        Epochs = epochs,
        BatchSize = 32,
        ValidationSplit = 0.2,
        Seed = seed,
        Callbacks = [new EarlyStopping("val_loss", patience: 20, restoreBestWeights: true)],
    };

    private static Dataset Scaled(Dataset data, Standardizer x, Standardizer? y)
    {
        float[] features = (float[])data.Features.Clone();
        x.Transform(features);
        if (y is null)
        {
            return new Dataset(features, data.Labels, data.FeatureSize);
        }

        float[] targets = (float[])data.Targets.Clone();
        y.Transform(targets);
        return new Dataset(features, targets, data.FeatureSize, 1);
    }

    private static Dictionary<string, double> Regression(float[] predictions, float[] targets)
    {
        RegressionMetrics m = Metrics.Regression(predictions, targets, 1);
        return new Dictionary<string, double> { ["mae"] = m.MeanAbsoluteError, ["rmse"] = m.RootMeanSquaredError, ["r2"] = m.R2 };
    }
}
