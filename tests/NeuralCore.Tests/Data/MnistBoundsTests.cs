using System.Buffers.Binary;
using System.IO.Compression;
using NeuralCore.Data;

namespace NeuralCore.Tests.Data;

/// <summary>Hostile MNIST files are refused from their headers, before a body is read or decompressed.</summary>
public sealed class MnistBoundsTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("neuralcore-bounds-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Write(string name, int magic, int[] dims, long bodyBytes)
    {
        string path = Path.Combine(_dir, name);
        using var gzip = new GZipStream(File.Create(path), CompressionLevel.Fastest);
        byte[] header = new byte[4 + (4 * dims.Length)];
        BinaryPrimitives.WriteInt32BigEndian(header, magic);
        for (int i = 0; i < dims.Length; i++)
        {
            BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4 + (4 * i)), dims[i]);
        }

        gzip.Write(header);
        byte[] zeros = new byte[1 << 20];
        for (long left = bodyBytes; left > 0; left -= zeros.Length)
        {
            gzip.Write(zeros, 0, (int)Math.Min(zeros.Length, left));
        }

        return path;
    }

    [Fact]
    public void Images_declaring_more_than_their_labels_are_refused_before_their_body()
    {
        string labels = Write("labels.gz", Mnist.LabelsMagic, [3], 3);
        // A consistent gzip "bomb": 100,000 images of zeros, 78 MB that compress to well under 1 MB.
        string images = Write("images.gz", Mnist.ImagesMagic, [100_000, 28, 28], 100_000L * 784);
        long before = GC.GetAllocatedBytesForCurrentThread();
        var ex = Assert.Throws<InvalidDataException>(() => Mnist.LoadFiles(images, labels));
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Contains("images.gz holds 100000 images but", ex.Message, StringComparison.Ordinal);
        Assert.Contains("labels.gz holds 3 labels", ex.Message, StringComparison.Ordinal);
        Assert.True(allocated < 8 << 20, $"refusing the images allocated {allocated} bytes: the body was read");
    }

    [Fact]
    public void Labels_declaring_more_than_their_images_are_refused_before_their_body()
    {
        // 5,000,000 labels of zeros (5 MB that compress to a few KB) beside 3 images: the labels' body was read and
        // turned into 20 MB of ints before the images' header was looked at.
        string labels = Write("labels.gz", Mnist.LabelsMagic, [5_000_000], 5_000_000);
        string images = Write("images.gz", Mnist.ImagesMagic, [3, 28, 28], 3 * 784);
        long before = GC.GetAllocatedBytesForCurrentThread();
        var ex = Assert.Throws<InvalidDataException>(() => Mnist.LoadFiles(images, labels));
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Contains("images.gz holds 3 images but", ex.Message, StringComparison.Ordinal);
        Assert.Contains("labels.gz holds 5000000 labels", ex.Message, StringComparison.Ordinal);
        Assert.True(allocated < 1 << 20, $"refusing the pair allocated {allocated} bytes: the labels' body was read");
    }

    [Fact]
    public void The_sample_limit_is_an_option()
    {
        string labels = Write("labels.gz", Mnist.LabelsMagic, [5], 5);
        string images = Write("images.gz", Mnist.ImagesMagic, [5, 28, 28], 5 * 784);
        Assert.Equal(5, Mnist.LoadFiles(images, labels).Count);
        var ex = Assert.Throws<InvalidDataException>(() => Mnist.LoadFiles(images, labels, maxSamples: 4));
        Assert.Contains("more than the 4 this reader was allowed", ex.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentOutOfRangeException>(() => Mnist.LoadFiles(images, labels, maxSamples: 0));
    }

    [Fact]
    public void The_sample_limit_is_an_option_of_the_folder_loaders_too()
    {
        Write(Mnist.TrainLabelsFile, Mnist.LabelsMagic, [5], 5);
        Write(Mnist.TrainImagesFile, Mnist.ImagesMagic, [5, 28, 28], 5 * 784);
        Write(Mnist.TestLabelsFile, Mnist.LabelsMagic, [3], 3);
        Write(Mnist.TestImagesFile, Mnist.ImagesMagic, [3, 28, 28], 3 * 784);
        MnistDataset data = Mnist.Load(_dir, maxSamples: 5, CancellationToken.None);
        Assert.Equal((5, 3), (data.Train.Count, data.Test.Count));
        Assert.Equal(3, Mnist.Load(_dir, MnistSplit.Test, maxSamples: 3, CancellationToken.None).Count);
        var ex = Assert.Throws<InvalidDataException>(() => Mnist.Load(_dir, maxSamples: 4, CancellationToken.None));
        Assert.Contains(Mnist.TrainLabelsFile, ex.Message, StringComparison.Ordinal);
        Assert.Contains("more than the 4 this reader was allowed", ex.Message, StringComparison.Ordinal);
        Assert.Equal("maxSamples", Assert.Throws<ArgumentOutOfRangeException>(
            () => Mnist.Load(_dir, MnistSplit.Train, maxSamples: 0, CancellationToken.None)).ParamName);
    }

    [Fact]
    public void A_sample_limit_beyond_any_file_is_refused_naming_maxSamples()
    {
        // int.MaxValue was refused by the IDX reader, in a message naming its own parameter, maxElements.
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => Mnist.LoadFiles("images", "labels", int.MaxValue));
        Assert.Equal("maxSamples", e.ParamName);
        Assert.Contains($"maxSamples={int.MaxValue}", e.Message, StringComparison.Ordinal);
        Assert.Contains($"{IdxReader.MaxElements}", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Labels_whose_images_no_array_holds_are_refused_naming_the_file()
    {
        // One label more than 784-pixel images fit in one array: the images' limit went to the IDX reader, which
        // refused it as an argument (maxElements) of a call the caller never made.
        int count = (IdxReader.MaxElements / Mnist.Features) + 1;
        string labels = Write("labels.gz", Mnist.LabelsMagic, [count], count);
        string images = Write("images.gz", Mnist.ImagesMagic, [count, 28, 28], 0);
        var e = Assert.Throws<InvalidDataException>(() => Mnist.LoadFiles(images, labels));
        Assert.Contains($"labels.gz holds {count} labels", e.Message, StringComparison.Ordinal);
    }
}
