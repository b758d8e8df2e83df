using NeuralCore.Data;

namespace NeuralCore.Tests.Data;

public class MnistTests
{
    /// <summary>Writes a split's two files: images with pixel (i, p) = (i * 31 + p) % 256, and the given labels.</summary>
    private static void WriteSplit(TempDirectory dir, string images, string labels, int count, byte[] labelValues, bool gzip, uint rows = 28, uint cols = 28)
    {
        byte[] pixels = [.. Enumerable.Range(0, count * (int)(rows * cols)).Select(k => (byte)((((k / (rows * cols)) * 31) + (k % (rows * cols))) % 256))];
        byte[] imageFile = Idx.Build([(uint)count, rows, cols], pixels);
        byte[] labelFile = Idx.Build([(uint)labelValues.Length], labelValues);
        dir.Write(gzip ? images : Path.GetFileNameWithoutExtension(images), gzip ? Idx.Gzip(imageFile) : imageFile);
        dir.Write(gzip ? labels : Path.GetFileNameWithoutExtension(labels), gzip ? Idx.Gzip(labelFile) : labelFile);
    }

    private static void WriteAll(TempDirectory dir, bool gzip)
    {
        WriteSplit(dir, Mnist.TrainImagesFile, Mnist.TrainLabelsFile, 5, [5, 0, 4, 1, 9], gzip);
        WriteSplit(dir, Mnist.TestImagesFile, Mnist.TestLabelsFile, 3, [7, 2, 1], gzip);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Loads_both_splits_scaled_to_unit_range(bool gzip)
    {
        using var dir = new TempDirectory();
        WriteAll(dir, gzip);

        MnistDataset mnist = Mnist.Load(dir.Path);

        Assert.Equal(784, mnist.Features);
        Assert.Equal(10, mnist.Classes);
        Assert.Equal(5, mnist.Train.Count);
        Assert.Equal(3, mnist.Test.Count);
        Assert.Equal(784, mnist.Train.FeatureSize);
        Assert.Equal([5, 0, 4, 1, 9], mnist.Train.Labels);
        Assert.Equal([7, 2, 1], mnist.Test.Labels);
        Assert.True(mnist.Train.StoresBytes, "MNIST should be kept as bytes");
        Assert.Equal(5 * 784, mnist.Train.Features.Length);
        for (int k = 0; k < mnist.Train.Features.Length; k++)
        {
            int expected = (((k / 784) * 31) + (k % 784)) % 256;
            Assert.Equal(expected / 255f, mnist.Train.Features[k]); // a true division, bit for bit
        }
    }

    [Fact]
    public void Loads_one_split_and_prefers_the_gz_name()
    {
        using var dir = new TempDirectory();
        WriteSplit(dir, Mnist.TestImagesFile, Mnist.TestLabelsFile, 3, [7, 2, 1], gzip: true);
        WriteSplit(dir, Mnist.TestImagesFile, Mnist.TestLabelsFile, 2, [3, 3], gzip: false);
        Dataset test = Mnist.Load(dir.Path, MnistSplit.Test);
        Assert.Equal([7, 2, 1], test.Labels);
    }

    [Fact]
    public void Image_and_label_counts_must_match()
    {
        using var dir = new TempDirectory();
        WriteSplit(dir, Mnist.TrainImagesFile, Mnist.TrainLabelsFile, 5, [1, 2, 3, 4], gzip: true);
        var e = Assert.Throws<InvalidDataException>(() => Mnist.Load(dir.Path, MnistSplit.Train));
        Assert.Contains("train-images-idx3-ubyte.gz holds 5 images", e.Message, StringComparison.Ordinal);
        Assert.Contains("train-labels-idx1-ubyte.gz holds 4 labels", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_pair_of_no_images_is_refused_naming_both_files()
    {
        // It loaded as a dataset of no samples.
        using var dir = new TempDirectory();
        WriteSplit(dir, Mnist.TrainImagesFile, Mnist.TrainLabelsFile, 0, [], gzip: true);
        var e = Assert.Throws<InvalidDataException>(() => Mnist.Load(dir.Path, MnistSplit.Train));
        Assert.Contains("train-images-idx3-ubyte.gz and ", e.Message, StringComparison.Ordinal);
        Assert.EndsWith("train-labels-idx1-ubyte.gz hold no images: an MNIST file holds at least one.", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Labels_above_nine_are_rejected_with_index_and_value()
    {
        using var dir = new TempDirectory();
        WriteSplit(dir, Mnist.TrainImagesFile, Mnist.TrainLabelsFile, 4, [1, 9, 10, 3], gzip: true);
        var e = Assert.Throws<InvalidDataException>(() => Mnist.Load(dir.Path, MnistSplit.Train));
        Assert.Contains("train-labels-idx1-ubyte.gz: label at index 2 is 10; expected 0..9", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Images_must_be_28_by_28()
    {
        using var dir = new TempDirectory();
        WriteSplit(dir, Mnist.TrainImagesFile, Mnist.TrainLabelsFile, 2, [1, 2], gzip: true, rows: 28, cols: 27);
        var e = Assert.Throws<InvalidDataException>(() => Mnist.Load(dir.Path, MnistSplit.Train));
        Assert.Contains("train-images-idx3-ubyte.gz: expected 28×28 images, found 28×27", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Files_must_have_the_mnist_magic_numbers()
    {
        using var dir = new TempDirectory();
        byte[] labels = Idx.Gzip(Idx.Build([2], [1, 2]));
        string labelsPath = dir.Write("labels.gz", labels);
        string matrixPath = dir.Write("matrix.gz", Idx.Gzip(Idx.Build([2, 784], new byte[2 * 784])));

        var images = Assert.Throws<InvalidDataException>(() => Mnist.LoadFiles(matrixPath, labelsPath));
        Assert.Contains("matrix.gz: expected an MNIST images file (magic 0x00000803", images.Message, StringComparison.Ordinal);
        Assert.Contains("found magic 0x00000802 with dimensions 2×784", images.Message, StringComparison.Ordinal);

        var swapped = Assert.Throws<InvalidDataException>(() => Mnist.LoadFiles(labelsPath, matrixPath));
        Assert.Contains("matrix.gz: expected an MNIST labels file (magic 0x00000801", swapped.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_missing_file_is_named_with_both_names()
    {
        using var dir = new TempDirectory();
        WriteSplit(dir, Mnist.TrainImagesFile, Mnist.TrainLabelsFile, 1, [0], gzip: true);
        var e = Assert.Throws<FileNotFoundException>(() => Mnist.Load(dir.Path));
        Assert.Contains("'t10k-images-idx3-ubyte.gz'", e.Message, StringComparison.Ordinal);
        Assert.Contains("'t10k-images-idx3-ubyte'", e.Message, StringComparison.Ordinal);
        Assert.Contains(dir.Path, e.Message, StringComparison.Ordinal);
        Assert.False(Mnist.HasAllFiles(dir.Path));
    }

    [Fact]
    public void A_missing_folder_is_DirectoryNotFoundException()
    {
        using var dir = new TempDirectory();
        string missing = Path.Combine(dir.Path, "nope");
        var e = Assert.Throws<DirectoryNotFoundException>(() => Mnist.Load(missing));
        Assert.Contains(missing, e.Message, StringComparison.Ordinal);
        Assert.False(Mnist.HasAllFiles(missing));
    }

    [Theory]
    [InlineData("", "empty")]
    [InlineData("mn\0ist", "NUL")]
    public void A_folder_path_that_is_no_path_names_directory(string directory, string why)
    {
        // "mn\0ist" was reported as "(Parameter 'path')", from Path.GetFullPath.
        foreach (Action load in new Action[] { () => Mnist.Load(directory), () => Mnist.Load(directory, MnistSplit.Train) })
        {
            var e = Assert.Throws<ArgumentException>(load);
            Assert.Equal("directory", e.ParamName);
            Assert.Contains(why, e.Message, StringComparison.Ordinal);
        }
    }
}

/// <summary>The repository copy of MNIST, loaded once for the tests that read it.</summary>
public sealed class RepositoryMnist
{
    public RepositoryMnist()
    {
        Directory = Find(AppContext.BaseDirectory)
            ?? throw new InvalidOperationException($"No data/mnist folder above {AppContext.BaseDirectory}.");
        Data = Mnist.Load(Directory);
    }

    public string Directory { get; }

    public MnistDataset Data { get; }

    /// <summary>Walks up from <paramref name="start"/> to the folder that holds NeuralCore.sln and data/mnist.</summary>
    public static string? Find(string start)
    {
        for (DirectoryInfo? d = new(start); d is not null; d = d.Parent)
        {
            string data = Path.Combine(d.FullName, "data", "mnist");
            if (File.Exists(Path.Combine(d.FullName, "NeuralCore.sln")) && System.IO.Directory.Exists(data))
            {
                return data;
            }
        }

        return null;
    }
}

public class MnistRepositoryCopyTests(RepositoryMnist repository) : IClassFixture<RepositoryMnist>
{
    private static int[] Histogram(int[] labels)
    {
        var counts = new int[10];
        foreach (int label in labels)
        {
            counts[label]++;
        }

        return counts;
    }

    [Fact]
    public void Train_split_has_60000_samples_with_the_known_label_counts()
    {
        Dataset train = repository.Data.Train;
        Assert.Equal(60_000, train.Count);
        Assert.Equal(60_000 * 784, train.Features.Length);
        Assert.Equal([5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949], Histogram(train.Labels));
        Assert.Equal([5, 0, 4, 1, 9, 2, 1, 3, 1, 4], train.Labels[..10]);
    }

    [Fact]
    public void Test_split_has_10000_samples_with_the_known_label_counts()
    {
        Dataset test = repository.Data.Test;
        Assert.Equal(10_000, test.Count);
        Assert.Equal(10_000 * 784, test.Features.Length);
        Assert.Equal([980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009], Histogram(test.Labels));
        Assert.Equal([7, 2, 1, 0, 4, 1, 4, 9, 5, 9], test.Labels[..10]);
    }

    [Fact]
    public void Pixels_are_in_the_unit_range()
    {
        float[] pixels = repository.Data.Train.Features;
        Assert.Equal(0f, pixels.Min());
        Assert.Equal(1f, pixels.Max());

        // The first training image (a 5): every pixel is byte / 255f, and its bytes sum to 27525 (Python's gzip module).
        int sum = 0;
        foreach (float p in pixels.AsSpan(0, 784))
        {
            int b = (int)MathF.Round(p * 255f);
            Assert.Equal(b / 255f, p);
            sum += b;
        }

        Assert.Equal(27525, sum);
    }
}
