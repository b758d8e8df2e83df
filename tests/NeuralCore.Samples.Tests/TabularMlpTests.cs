using System.Globalization;
using System.Security.Cryptography;
using NeuralCore.Data;
using NeuralCore.Layers;
using NeuralCore.Losses;
using NeuralCore.Models;
using NeuralCore.Optimizers;
using NeuralCore.Scoring;
using NeuralCore.Serialization;
using NeuralCore.Training;
using TabularMlp;

namespace NeuralCore.Samples.Tests;

/// <summary>The tabular sample: its data files as documented, and models that beat their baselines.</summary>
public class TabularMlpTests
{
    private static string Folder => TabularData.Find() ?? throw new InvalidOperationException("data/tabular not found");

    [Fact]
    public void The_repository_copies_match_their_checksums_and_documented_shapes()
    {
        foreach (string line in File.ReadAllLines(Path.Combine(Folder, "SHA256SUMS")))
        {
            string[] parts = line.Split("  ");
            string actual = Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(Path.Combine(Folder, parts[1]))));
            Assert.Equal(parts[0], actual);
        }

        Dataset diabetes = TabularData.Diabetes(Folder);
        Assert.Equal((442, 10), (diabetes.Count, diabetes.FeatureSize));
        Assert.Equal(151f, diabetes.Targets[0]);
        Dataset cancer = TabularData.BreastCancerData(Folder);
        Assert.Equal((569, 30), (cancer.Count, cancer.FeatureSize));
        Assert.Equal(212, cancer.Labels.Count(l => l == 0)); // malignant, as the data set's description counts them
        Assert.Equal(357, cancer.Labels.Count(l => l == 1));
        Dataset wine = TabularData.WineData(Folder);
        Assert.Equal((178, 13), (wine.Count, wine.FeatureSize));
        Assert.Equal([59, 71, 48], Enumerable.Range(0, 3).Select(c => wine.Labels.Count(l => l == c)));
        Assert.Equal(1065f, wine.Features[12]); // the first wine's proline
        TextTable penguins = TabularData.PenguinsTable(Folder);
        Assert.Equal((344, 8), (penguins.Rows, penguins.Columns));
        Assert.Equal([("Adelie", 152), ("Chinstrap", 68), ("Gentoo", 124)],
            penguins.Column("species").GroupBy(s => s).OrderBy(g => g.Key, StringComparer.Ordinal).Select(g => (g.Key, g.Count())));
        Assert.Equal(11, penguins.Column("sex").Count(s => s == "NA"));
        Assert.Equal(2, penguins.Column("body_mass_g").Count(s => s == "NA"));
    }

    [Fact]
    public void Penguin_classifiers_on_encoded_text_beat_the_majority_class()
    {
        var results = Tasks.Penguins(TabularData.PenguinsTable(Folder), seed: 42, epochs: 300).ToDictionary(r => r.Model);
        Assert.InRange(results["majority class"].Test["accuracy"], 0.3, 0.55);
        foreach (string name in new[] { "softmax regression", "MLP" })
        {
            Assert.True(results[name].Test["accuracy"] > 0.95, $"{name}: {results[name].Test["accuracy"]}");
            Assert.True(results[name].Test["macro F1"] > 0.95, name);
        }
    }

    [Fact]
    public void Wine_classifiers_with_a_normalization_layer_beat_the_majority_class_and_take_raw_inputs_when_reloaded()
    {
        var results = Tasks.Wine(TabularData.WineData(Folder), seed: 42, epochs: 300).ToDictionary(r => r.Model);
        Assert.InRange(results["majority class"].Test["accuracy"], 0.3, 0.45);
        foreach (string name in new[] { "softmax regression", "MLP" })
        {
            Assert.True(results[name].Test["accuracy"] > 0.9, $"{name}: {results[name].Test["accuracy"]}");
            Assert.True(results[name].Test["macro F1"] > 0.9, name);
        }

        // A model with the layer, saved and loaded, standardizes raw measurements itself: the same predictions.
        (Dataset train, Dataset test) = TabularData.WineData(Folder).SplitShuffled(0.2, 42);
        var normalization = new Normalization();
        normalization.Adapt(train.Features, train.Count);
        var model = new Sequential(13, seed: 1).Add(normalization).Add(new Dense(3));
        model.Compile(new SoftmaxCrossEntropy(), new Adam(0.01f));
        model.Fit(train, new FitOptions { Epochs = 50, BatchSize = 16, Seed = 1 });
        string path = Path.Combine(Path.GetTempPath(), $"wine-{Guid.NewGuid():N}.ncm");
        try
        {
            ModelFile.Save(model, path);
            Assert.Equal(model.Predict(test), ModelFile.Load(path).Predict(test));
        }
        finally
        {
            File.Delete(path);
        }

        Assert.True(model.Evaluate(test).Accuracy > 0.9, "50 epochs of softmax regression on standardized wines");
    }

    [Fact]
    public void Regression_models_beat_the_mean_predictor_on_held_out_patients()
    {
        var results = Tasks.Diabetes(TabularData.Diabetes(Folder), seed: 42, epochs: 300).ToDictionary(r => r.Model);
        Assert.InRange(results["mean predictor"].Test["r2"], -0.1, 0.01);
        foreach (string model in new[] { "linear regression", "MLP" })
        {
            Assert.True(results[model].Test["r2"] > 0.4, $"{model}: R² {results[model].Test["r2"]}");
            Assert.True(results[model].Test["mae"] < 0.75 * results["mean predictor"].Test["mae"], model);
        }
    }

    [Fact]
    public void Classifiers_beat_the_majority_class_on_held_out_tumours()
    {
        var results = Tasks.BreastCancer(TabularData.BreastCancerData(Folder), seed: 42, epochs: 300).ToDictionary(r => r.Model);
        Assert.InRange(results["majority class"].Test["accuracy"], 0.55, 0.7);
        foreach (string model in new[] { "logistic regression", "MLP" })
        {
            Assert.True(results[model].Test["accuracy"] > 0.94, $"{model}: {results[model].Test["accuracy"]}");
            Assert.True(results[model].Test["malignant recall"] > 0.85, model);
            Assert.True(results[model].Test["ROC AUC"] > 0.95, $"{model}: ROC AUC {results[model].Test["ROC AUC"]}");
        }
    }

    [Fact]
    public void Table_files_with_bad_rows_name_the_line()
    {
        var ex = Assert.Throws<InvalidDataException>(() => NumericTable.Read(new StringReader("1,2\n3,x\n"), "t.csv", 0));
        Assert.Contains("t.csv, line 2, field 2: 'x' is not a number", ex.Message, StringComparison.Ordinal);
        ex = Assert.Throws<InvalidDataException>(() => NumericTable.Read(new StringReader("1 2 3\n4 5\n"), "t.txt", 0));
        Assert.Contains("line 2: 2 fields, but the first row has 3", ex.Message, StringComparison.Ordinal);
        Assert.Throws<FileNotFoundException>(() => NumericTable.Read("/nonexistent/table.csv", 0));
        NumericTable table = NumericTable.Read(new StringReader("header\n1  2\n\n3\t4\n"), "t", 1);
        Assert.Equal([1f, 2f, 3f, 4f], table.Values);
        Assert.Equal((2, 2), (table.Rows, table.Columns));
    }

    [Fact]
    public void The_standardizer_uses_training_statistics_and_inverts_exactly_enough()
    {
        float[] train = [1, 10, 3, 10, 5, 10];
        Standardizer s = Standardizer.Fit(train, 2);
        Assert.Equal([3.0, 10.0], s.Means);
        Assert.Equal(Math.Sqrt(8.0 / 3), s.Scales[0], 1e-12);
        Assert.Equal(1.0, s.Scales[1]); // a constant column is only centred
        float[] copy = (float[])train.Clone();
        s.Transform(copy);
        Assert.Equal(0f, copy[2 + 0], 1e-6f);
        s.InverseTransform(copy);
        for (int i = 0; i < train.Length; i++)
        {
            Assert.Equal(train[i], copy[i], 1e-5f);
        }

        Assert.Throws<ArgumentException>(() => s.Transform(new float[3]));
        Assert.Throws<ArgumentException>(() => Standardizer.Fit([1f, float.NaN], 2));

        // Values near float32's limit: x - mean overflowed float32 in Transform (to -Infinity), though Fit works in double.
        float[] large = [3e38f, -3e38f, 3e38f];
        Standardizer wide = Standardizer.Fit(large, 1);
        wide.Transform(large);
        Assert.Equal([MathF.Sqrt(0.5f), -MathF.Sqrt(2f), MathF.Sqrt(0.5f)], large, (a, b) => MathF.Abs(a - b) < 1e-6f);
        wide.InverseTransform(large);
        Assert.Equal([3e38f, -3e38f, 3e38f], large, (a, b) => MathF.Abs(a - b) <= 1e-6f * MathF.Abs(b));
    }

    [Theory]
    [InlineData("0.5", "data row 2: label 0.5 is not a class")]
    [InlineData("2", "data row 2: label 2 is not a class")]
    [InlineData("-1", "data row 2: label -1 is not a class")]
    public void Labels_other_than_0_and_1_are_refused_by_row(string label, string message)
    {
        // (int)v turned 0.5 into class 0 and trained on it.
        string folder = Path.Combine(Path.GetTempPath(), $"neuralcore-tabular-{Guid.NewGuid():N}");
        Directory.CreateDirectory(folder);
        try
        {
            string features = string.Join(',', Enumerable.Repeat("1.5", 30));
            File.WriteAllLines(Path.Combine(folder, TabularData.BreastCancer), ["3,30,malignant,benign", $"{features},0", $"{features},{label}", $"{features},1"]);
            var e = Assert.Throws<InvalidDataException>(() => TabularData.BreastCancerData(folder));
            Assert.StartsWith($"{TabularData.BreastCancer}, {message}", e.Message, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Theory]
    [InlineData(0, "holds only class 0 (malignant)")]
    [InlineData(1, "holds only class 1 (benign)")]
    public void A_training_part_of_one_class_is_refused(int label, string message)
    {
        // It trained, and reported the missing class's recall and precision as 0.
        float[] x = [.. Enumerable.Range(0, 40 * 30).Select(i => (float)(i % 7))];
        var data = new Dataset(x, [.. Enumerable.Repeat(label, 40)], 30);
        var e = Assert.Throws<InvalidDataException>(() => Tasks.BreastCancer(data, seed: 1, epochs: 1));
        Assert.Contains(message, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_shuffled_split_keeps_every_sample_once()
    {
        float[] x = [.. Enumerable.Range(0, 10).Select(i => (float)i)];
        var data = new Dataset(x, [.. x.Select(v => v * 2)], 1, 1);
        (Dataset train, Dataset test) = data.SplitShuffled(0.25, 7);
        Assert.Equal((7, 3), (train.Count, test.Count));
        Assert.Equal(x, train.Features.Concat(test.Features).Order());
        Assert.All(train.Features.Zip(train.Targets), p => Assert.Equal(2 * p.First, p.Second));
        Assert.Equal(test.Features, data.SplitShuffled(0.25, 7).Test.Features);
    }

    [Fact]
    public void Any_csv_trains_a_classifier_or_a_regression_through_its_encoder_leaving_out_unlabelled_rows()
    {
        string path = Path.Combine(TabularData.Find()!, TabularData.Penguins);
        var classify = new CsvSettings(path, "species", Data.LabelKind.Auto, [], [], 16, 0.2);
        var (results, encoder, mlp, unlabelled) = Tasks.Csv(TextTable.Read(path), classify, seed: 42, epochs: 300);
        Assert.Equal(0, unlabelled);
        Assert.Equal(["Adelie", "Chinstrap", "Gentoo"], encoder.Classes);
        Assert.True(results.Single(r => r.Model == "MLP").Test["accuracy"] > 0.95);
        Assert.Equal(encoder.FeatureSize, mlp.InputSize);

        // y = 3x + 10 for group b, with rows missing their label; the models predict in y's units.
        var rows = new List<string> { "x,group,y" };
        for (int i = 0; i < 120; i++)
        {
            string group = i % 2 == 0 ? "a" : "b";
            float x = i / 12f;
            string y = i % 17 == 5 ? "NA" : ((3 * x) + (group == "b" ? 10 : 0)).ToString("R", System.Globalization.CultureInfo.InvariantCulture);
            rows.Add(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{x:R},{group},{y}"));
        }

        string csv = Path.Combine(Path.GetTempPath(), $"neuralcore-line-{Guid.NewGuid():N}.csv");
        try
        {
            File.WriteAllLines(csv, rows);
            var regress = new CsvSettings(csv, "y", Data.LabelKind.Auto, [], [], 16, 0.25);
            var (lines, lineEncoder, _, missing) = Tasks.Csv(TextTable.Read(csv), regress, seed: 3, epochs: 400);
            Assert.Equal(Data.LabelKind.Targets, lineEncoder.LabelKind);
            Assert.Equal(Enumerable.Range(0, 120).Count(i => i % 17 == 5), missing);
            Assert.InRange(lines.Single(r => r.Model == "mean predictor").Test["r2"], -0.2, 0.05);
            Assert.True(lines.Single(r => r.Model == "linear regression").Test["r2"] > 0.99, "a line and a one-hot offset, fitted by one Dense layer");
            Assert.True(lines.Single(r => r.Model == "linear regression").Test["mae"] < 0.3, "in y's units, not standardized ones");
        }
        finally
        {
            File.Delete(csv);
        }
    }

    [Fact]
    public void A_regression_whose_test_part_is_one_row_is_refused_naming_test_split()
    {
        // R² of one test row is undefined: the report showed NaN, and the run exited 0.
        string[][] rows = [.. Enumerable.Range(1, 10).Select(i => new[] { $"{i}", $"{i * 3}.5" })];
        var table = new TextTable(["x", "y"], rows);
        var settings = new CsvSettings("reg10.csv", "y", Data.LabelKind.Auto, [], [], 8, 0.05);
        var e = Assert.Throws<InvalidDataException>(() => Tasks.Csv(table, settings, seed: 42, epochs: 2));
        Assert.Equal("reg10.csv: --test-split 0.05 of 10 labelled rows holds out 1 test row, whose R² is undefined; use --test-split 0.11 or more.", e.Message);

        // The advice holds: two test rows, and an R² for every model.
        var (results, _, _, _) = Tasks.Csv(table, settings with { TestFraction = 0.11 }, seed: 42, epochs: 2);
        Assert.All(results, r => Assert.False(double.IsNaN(r.Test["r2"]), r.Model));
    }

    [Fact]
    public void A_label_whose_variance_float32_cannot_hold_is_refused_by_name()
    {
        // Finite labels of 1e30 to 2e31: the variance the models' last layer holds squared the scale in float32, and
        // the refusal read "Feature 0's variance Infinity is not a finite, non-negative number".
        string[][] rows = [.. Enumerable.Range(1, 20).Select(i => new[] { $"{i}", $"{i}e30" })];
        var settings = new CsvSettings("big.csv", "y", Data.LabelKind.Auto, [], [], 8, 0.2);
        var e = Assert.Throws<InvalidDataException>(() => Tasks.Csv(new TextTable(["x", "y"], rows), settings, seed: 42, epochs: 2));
        Assert.StartsWith("big.csv: 'y' spreads too widely for float32: its standard deviation over the training part", e.Message, StringComparison.Ordinal);
        Assert.Contains("divide the label by a power of ten first", e.Message, StringComparison.Ordinal);

        // The same rows in units of 1e30 train.
        string[][] scaled = [.. rows.Select(r => new[] { r[0], r[1].Replace("e30", "", StringComparison.Ordinal) })];
        var (results, _, _, _) = Tasks.Csv(new TextTable(["x", "y"], scaled), settings, seed: 42, epochs: 2);
        Assert.All(results, r => Assert.True(double.IsFinite(r.Test["mae"]), r.Model));
    }

    [Fact]
    public async Task The_csv_mode_writes_a_model_and_an_encoder_that_predict_together()
    {
        string folder = Path.Combine(Path.GetTempPath(), $"neuralcore-csv-{Guid.NewGuid():N}");
        string path = Path.Combine(TabularData.Find()!, TabularData.Penguins);
        try
        {
            (int exitCode, string output, string error) = await RunTabularMlp("--csv", path, "--label", "species", "--epochs", "100", "--out", folder);
            Assert.True(exitCode == 0, error);
            Assert.Contains("| MLP |", output, StringComparison.Ordinal);

            TableEncoder encoder = TableEncoder.Load(Path.Combine(folder, "encoder.json"));
            var model = ModelFile.Load(Path.Combine(folder, "model.ncm"));
            TextTable table = TextTable.Read(path);
            int[] predicted = model.PredictClasses(encoder.Features(table), table.Rows);
            double accuracy = predicted.Zip(encoder.Labels(table)).Count(p => p.First == p.Second) / (double)table.Rows;
            Assert.True(accuracy > 0.95, $"the saved MLP on all 344 penguins: {accuracy}");
        }
        finally
        {
            if (Directory.Exists(folder))
            {
                Directory.Delete(folder, recursive: true);
            }
        }
    }

    [Fact]
    public async Task Cross_validation_scores_every_fold_and_the_csv_mode_keeps_only_its_report()
    {
        // Wine, three folds stratified by cultivar: each model's mean over the folds with its spread, better than the
        // majority class; the training rows come shuffled, the test rows in order, and every row is tested once.
        Dataset wine = TabularData.WineData(Folder);
        int[] fold = DatasetSplits.StratifiedFoldAssignment(wine.Labels, 3, shuffle: true, seed: 4);
        var tested = new List<int>();
        IReadOnlyList<ModelResult> results = Tasks.CrossValidate(fold, 3, 4, (train, test) =>
        {
            Assert.Equal(wine.Count, train.Length + test.Length);
            Assert.NotEqual(train.Order(), train);
            tested.AddRange(test);
            return Tasks.Wine(wine.Subset(train), wine.Subset(test), 4, 200);
        });
        Assert.Equal(Enumerable.Range(0, wine.Count), tested.Order());
        var byModel = results.ToDictionary(r => r.Model);
        Assert.True(byModel["MLP"].Test["accuracy"] > byModel["majority class"].Test["accuracy"] + 0.3, $"MLP {byModel["MLP"].Test["accuracy"]}");
        Assert.All(results, r => Assert.True(r.Spread!["accuracy"] is >= 0 and < 0.2, $"{r.Model}: spread {r.Spread!["accuracy"]}"));

        // A description that differs by fold (the majority class of each training part) is given for every fold: the
        // first fold's stood for all.
        IReadOnlyList<ModelResult> varying = Tasks.CrossValidate([0, 1, 2, 0, 1, 2], 3, 1, (train, test) =>
            [new ModelResult("majority class", test.Contains(0) ? "always predicts a" : "always predicts b", new Dictionary<string, double> { ["accuracy"] = 1 }, 0, 0)]);
        Assert.Equal("always predicts a (1 fold); always predicts b (2 folds)", varying[0].Description);

        // Macro F1 over the classes that occur (scikit-learn's): a class absent from a fold's test rows and never
        // predicted counted as 0 (2/3 here); a class predicted but absent still counts.
        Assert.Equal(1.0, Tasks.MacroF1(new ConfusionMatrix([0, 0, 1, 1], [0, 0, 1, 1], 3)));
        Assert.Equal((1.0 + (2.0 / 3) + 0) / 3, Tasks.MacroF1(new ConfusionMatrix([0, 0, 1, 1], [0, 0, 1, 2], 3)), 1e-12);

        string folder = Path.Combine(Path.GetTempPath(), $"neuralcore-folds-{Guid.NewGuid():N}");
        try
        {
            // An earlier single split's model and encoder in the folder are removed: its report would not be theirs.
            Directory.CreateDirectory(folder);
            File.WriteAllText(Path.Combine(folder, "model.ncm"), "old");
            File.WriteAllText(Path.Combine(folder, "encoder.json"), "old");
            (int exitCode, string output, string error) = await RunTabularMlp("--csv", Path.Combine(TabularData.Find()!, TabularData.Penguins), "--label", "species",
                "--epochs", "60", "--folds", "3", "--out", folder);
            Assert.True(exitCode == 0, error);
            Assert.Contains("3-fold cross-validation stratified by class", output, StringComparison.Ordinal);
            Assert.Contains(" ± ", output, StringComparison.Ordinal);
            Assert.Equal(["report.md"], Directory.GetFiles(folder).Select(Path.GetFileName));

            // A class of one row, and regression folds of one test row, are refused before training, naming the fix.
            string rare = Path.Combine(folder, "rare.csv"), few = Path.Combine(folder, "few.csv");
            File.WriteAllLines(rare, ["a,b,y", .. Enumerable.Range(0, 30).Select(i => $"{i},{i % 7},{(i == 7 ? "rare" : i % 2 == 0 ? "p" : "q")}")]);
            File.WriteAllLines(few, ["x,y", .. Enumerable.Range(0, 10).Select(i => $"{i},{(i * 7) % 5}.5")]);
            (exitCode, _, error) = await RunTabularMlp("--csv", rare, "--label", "y", "--folds", "3", "--epochs", "2");
            Assert.Equal(1, exitCode);
            Assert.Contains("the class 'rare' of 'y' holds one row: cross-validation trains every fold without it", error, StringComparison.Ordinal);
            (exitCode, _, error) = await RunTabularMlp("--csv", few, "--label", "y", "--folds", "10", "--epochs", "2");
            Assert.Equal(1, exitCode);
            Assert.Contains("10 labelled rows make test folds of one row with --folds 10, whose R² is undefined; use at most --folds 5", error, StringComparison.Ordinal);

            // Whole numbers with a recurring word are classes for the whole table, and so for every fold: each fold
            // decided again from its training rows, which held the word once, and refused it as a stray.
            string doors = Path.Combine(folder, "doors.csv");
            File.WriteAllLines(doors, ["a,b,doors", .. Enumerable.Range(0, 40).Select(i => $"{i},{i % 5},{(i is 5 or 30 ? "5more" : (2 + (i % 3)).ToString(CultureInfo.InvariantCulture))}")]);
            (exitCode, output, error) = await RunTabularMlp("--csv", doors, "--label", "doors", "--folds", "2", "--epochs", "2");
            Assert.True(exitCode == 0, error);
            Assert.Contains("2-fold cross-validation stratified by class", output, StringComparison.Ordinal);
        }
        finally
        {
            if (Directory.Exists(folder))
            {
                Directory.Delete(folder, recursive: true);
            }
        }
    }

    [Fact]
    public async Task The_loss_of_a_csv_file_is_chosen_with_loss_and_must_suit_the_label()
    {
        // Counts at a rate of exp(0.8a + 0.4b): Poisson ends the models in Softplus; focal scores the kinds; a quantity
        // loss on classes is refused naming both.
        string csv = Path.Combine(Path.GetTempPath(), $"neuralcore-counts-{Guid.NewGuid():N}.csv");
        try
        {
            var random = new Random(3);
            File.WriteAllLines(csv, ["a,b,kind,visits", .. Enumerable.Range(0, 200).Select(i =>
            {
                double a = random.NextDouble() * 2, b = random.NextDouble(), limit = Math.Exp(-Math.Exp((0.8 * a) + (0.4 * b))), product = random.NextDouble();
                int k = 0;
                while (product > limit)
                {
                    k++;
                    product *= random.NextDouble();
                }

                return string.Create(CultureInfo.InvariantCulture, $"{a:F3},{b:F3},{(a > 1 ? "high" : "low")},{k}");
            })]);
            (int exitCode, string output, string error) = await RunTabularMlp("--csv", csv, "--label", "visits", "--loss", "poisson", "--epochs", "40");
            Assert.True(exitCode == 0, error);
            Assert.Contains("→ Softplus, Poisson, Adam(0.01)", output, StringComparison.Ordinal);
            (exitCode, output, error) = await RunTabularMlp("--csv", csv, "--label", "kind", "--loss", "focal", "--epochs", "20");
            Assert.True(exitCode == 0, error);
            Assert.Contains("focal cross-entropy", output, StringComparison.Ordinal);
            (exitCode, _, error) = await RunTabularMlp("--csv", csv, "--label", "kind", "--loss", "poisson", "--epochs", "2");
            Assert.Equal(1, exitCode);
            Assert.Contains("--loss poisson scores quantities, but 'kind' holds classes (2)", error, StringComparison.Ordinal);

            // A negative label under a logarithm's loss is named with the option (the library's message named train.Targets).
            File.WriteAllLines(csv, ["a,y", .. Enumerable.Range(0, 20).Select(i => string.Create(CultureInfo.InvariantCulture, $"{i},{(i == 3 ? -1.5 : i + 1)}"))]);
            (exitCode, _, error) = await RunTabularMlp("--csv", csv, "--label", "y", "--loss", "msle", "--epochs", "2");
            Assert.Equal(1, exitCode);
            Assert.Contains("--loss msle takes the logarithm of 'y', which must not be negative, and 1 of its values is (the least -1.5)", error, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(csv);
        }
    }

    [Fact]
    public async Task Decimal_commas_are_named_with_the_flag_that_reads_them_and_read_with_it()
    {
        string csv = Path.Combine(Path.GetTempPath(), $"neuralcore-comma-{Guid.NewGuid():N}.csv");
        try
        {
            File.WriteAllLines(csv, ["x;group;y", .. Enumerable.Range(0, 40).Select(i => $"{i},5;{(i % 2 == 0 ? "a" : "b")};{2 * i},25")]);
            (int exitCode, _, string error) = await RunTabularMlp("--csv", csv, "--label", "y", "--epochs", "3");
            Assert.Equal(1, exitCode);
            // The encoder's advice in flags: its option names mean nothing on a command line.
            Assert.Contains("error: Column 'x' holds numbers written with ','", error, StringComparison.Ordinal);
            Assert.Contains("set --decimal-separator ,;", error, StringComparison.Ordinal);
            Assert.Contains("list the column in --categorical if its values are categories.", error, StringComparison.Ordinal);

            (exitCode, string output, error) = await RunTabularMlp("--csv", csv, "--label", "y", "--epochs", "3", "--decimal-separator", ",");
            Assert.True(exitCode == 0, error);
            Assert.Contains("regression of 'y'", output, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(csv);
        }
    }

    [Fact]
    public async Task A_label_listed_in_ignore_or_categorical_is_refused_with_advice_for_the_option_given()
    {
        // Both were told "to read its numbers as classes, set --task classification", also for --ignore and for words.
        string csv = Path.Combine(Path.GetTempPath(), $"neuralcore-listed-{Guid.NewGuid():N}.csv");
        try
        {
            File.WriteAllLines(csv, ["x,kind,y", .. Enumerable.Range(0, 20).Select(i => $"{i},{(i % 2 == 0 ? "a" : "b")},{i % 3}")]);
            (int exitCode, _, string error) = await RunTabularMlp("--csv", csv, "--label", "y", "--ignore", "y", "--epochs", "2");
            Assert.Equal(1, exitCode);
            Assert.Contains("error: The label column 'y' is also in --ignore: the column to predict cannot be left out; remove it from --ignore, or choose another label.", error, StringComparison.Ordinal);
            (exitCode, _, error) = await RunTabularMlp("--csv", csv, "--label", "kind", "--categorical", "kind", "--epochs", "2");
            Assert.Equal(1, exitCode);
            Assert.Contains("a label of words is read as classes already; remove it from --categorical.", error, StringComparison.Ordinal);
            (exitCode, _, error) = await RunTabularMlp("--csv", csv, "--label", "y", "--categorical", "y", "--epochs", "2");
            Assert.Equal(1, exitCode);
            Assert.Contains("to read its numbers as classes, set --task classification and remove it from --categorical.", error, StringComparison.Ordinal);
            (exitCode, _, error) = await RunTabularMlp("--csv", csv, "--label", "y", "--categorical", "y", "--task", "regression", "--epochs", "2");
            Assert.Equal(1, exitCode);
            Assert.Contains("it is read as a quantity (--task regression); remove it from --categorical.", error, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(csv);
        }
    }

    [Fact]
    public async Task A_label_of_a_few_whole_numbers_read_as_a_quantity_is_said_with_the_option_that_classifies()
    {
        string csv = Path.Combine(Path.GetTempPath(), $"neuralcore-binary-{Guid.NewGuid():N}.csv");
        try
        {
            File.WriteAllLines(csv, ["x,target", .. Enumerable.Range(0, 40).Select(i => $"{i},{(i < 20 ? 0 : 1)}")]);
            (int exitCode, string output, string error) = await RunTabularMlp("--csv", csv, "--label", "target", "--epochs", "5");
            Assert.True(exitCode == 0, error);
            Assert.Contains("'target' holds only the whole numbers 0, 1, so it was read as a quantity to regress; if they are classes, pass --task classification.", output, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(csv);
        }
    }

    [Theory]
    [InlineData(2, "--seed must be a non-negative integer below 2^64; got 'abc'", "--seed", "abc")]
    [InlineData(2, "--seed must be a non-negative integer below 2^64; got '-1'", "--seed", "-1")]
    [InlineData(2, "--epochs must be an integer from 1 to 100000; got '99999999999'", "--epochs", "99999999999")]
    [InlineData(2, "--epochs must be an integer from 1 to 100000; got '0'", "--epochs", "0")]
    [InlineData(2, "--epochs needs a value", "--epochs")]
    [InlineData(2, "unknown option '--bogus'", "--bogus")]
    [InlineData(1, "no such folder", "--data", "/nonexistent-neuralcore")]
    [InlineData(1, "--out /proc/neuralcore/x cannot be written", "--out", "/proc/neuralcore/x")]
    [InlineData(2, "--label needs --csv FILE", "--label", "y")]
    [InlineData(2, "--csv needs --label COLUMN", "--csv", "t.csv")]
    [InlineData(2, "--task must be auto, classification or regression; got 'ranking'", "--csv", "t.csv", "--label", "y", "--task", "ranking")]
    [InlineData(2, "--hidden must be an integer from 1 to 65536; got '0'", "--hidden", "0")]
    [InlineData(2, "--test-split must be a number from 0.05 to 0.5; got '0.9'", "--test-split", "0.9")]
    [InlineData(2, "--task, --ignore, --categorical, --decimal-separator and --loss describe a --csv file", "--ignore", "id")]
    [InlineData(2, "--task, --ignore, --categorical, --decimal-separator and --loss describe a --csv file", "--loss", "mae")]
    [InlineData(2, "--loss must be one of crossentropy, focal, mse, mae, huber, log_cosh, mape, msle, poisson; got 'hinge'", "--loss", "hinge")]
    [InlineData(2, "--loss focal is a classification loss, but --task is regression", "--csv", "t.csv", "--label", "y", "--task", "regression", "--loss", "focal")]
    [InlineData(1, "/nonexistent-neuralcore.csv: no such table file", "--csv", "/nonexistent-neuralcore.csv", "--label", "y")]
    [InlineData(2, "--decimal-separator must be . or ,; got ';'", "--decimal-separator", ";")]
    [InlineData(2, "--folds must be an integer from 2 to 20; got '1'", "--folds", "1")]
    [InlineData(2, "--folds must be an integer from 2 to 20; got '21'", "--folds", "21")]
    [InlineData(2, "--test-split and --folds each decide what is held out: give one", "--folds", "3", "--test-split", "0.3")]
    [InlineData(2, "--hidden shapes the models of a --csv file; the four data sets' models and their 80/20 split are fixed", "--epochs", "1", "--hidden", "5")]
    [InlineData(2, "--test-split shapes the models of a --csv file", "--epochs", "1", "--test-split", "0.5")]
    [InlineData(2, "--hidden and --test-split shape the models of a --csv file", "--hidden", "5", "--test-split", "0.5")]
    [InlineData(2, "--data names the folder of the four data sets, which --csv FILE replaces: give one", "--csv", "t.csv", "--label", "y", "--data", "data/tabular")]
    public async Task Bad_arguments_get_one_line_naming_them_and_no_stack_trace(int exitCode, string message, params string[] args)
    {
        // Each of these ended in an unhandled exception's stack trace (exit 134), the last only after training.
        (int code, _, string error) = await RunTabularMlp(args);
        Assert.Equal(exitCode, code);
        Assert.Contains(message, error, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Escape_sequences_in_a_csv_reach_neither_the_report_nor_an_error_raw()
    {
        // A column name and a field holding ESC [2J (clear screen) were printed as they were, in the report's heading
        // and in the error that quotes the field.
        string folder = Directory.CreateTempSubdirectory("tabular-escapes").FullName;
        try
        {
            string csv = Path.Combine(folder, "escapes.csv");
            var rows = Enumerable.Range(0, 60).Select(i => $"{i},{i % 2}");
            File.WriteAllText(csv, "x,lab\u001b[2Jel\n" + string.Join('\n', rows) + "\n");
            (int code, string output, string error) = await RunTabularMlp("--csv", csv, "--label", "lab\u001b[2Jel", "--epochs", "2", "--out", Path.Combine(folder, "out"));
            Assert.True(code == 0, error);
            Assert.Contains("'lab?[2Jel'", output, StringComparison.Ordinal);
            Assert.DoesNotContain('\u001b', output);
            Assert.DoesNotContain('\u001b', File.ReadAllText(Path.Combine(folder, "out", "report.md")));

            File.AppendAllText(csv, "5\u001b[2J,1\n");
            (code, _, error) = await RunTabularMlp("--csv", csv, "--label", "lab\u001b[2Jel", "--epochs", "2", "--test-split", "0.05");
            Assert.Equal(1, code);
            Assert.Contains("'5?[2J' is not a number", error, StringComparison.Ordinal);
            Assert.DoesNotContain('\u001b', error);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    // The sample's built program, run to its exit (two minutes at most): its exit code, output and error output.
    private static async Task<(int ExitCode, string Output, string Error)> RunTabularMlp(params string[] args)
    {
        var info = new System.Diagnostics.ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "TabularMlp.dll"));
        foreach (string arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        using var process = System.Diagnostics.Process.Start(info)!;
        Task<string> output = process.StandardOutput.ReadToEndAsync();
        string error = await process.StandardError.ReadToEndAsync();
        Assert.True(process.WaitForExit(120_000), "TabularMlp did not exit");
        return (process.ExitCode, await output, error);
    }
}
