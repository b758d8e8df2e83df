using MnistMlp;
using NeuralCore.Data;
using SkiaSharp;

namespace NeuralCore.Samples.Tests;

public sealed class PlotsTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("plots-tests-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public void Misclassified_draws_each_mistake_from_its_own_test_image()
    {
        // Four images whose pixels all differ from one another; the picture shows images 3 and 1, in that order.
        const int Pixels = 784;
        byte[] bytes = new byte[4 * Pixels];
        for (int i = 0; i < bytes.Length; i++)
        {
            bytes[i] = (byte)((i * 7) + (i / Pixels * 61));
        }

        var test = Dataset.FromBytes(bytes, [0, 1, 2, 3], Pixels, 255f);
        Mistake[] mistakes = [new(3, 3, 5, 0.9), new(1, 1, 7, 0.8)];
        string path = Path.Combine(_folder, "misclassified.png");

        Plots.Misclassified(test, mistakes, path);

        using SKBitmap picture = SKBitmap.Decode(path);
        for (int k = 0; k < mistakes.Length; k++)
        {
            foreach ((int r, int c) in new[] { (3, 5), (14, 14), (27, 20) })
            {
                byte pixel = bytes[(mistakes[k].Index * Pixels) + (r * 28) + c];
                (int x, int y) = Plots.MisclassifiedPixel(k, r, c);
                // Dark ink on light paper: the reversed grey scale, within the colormap's rounding.
                Assert.InRange(picture.GetPixel(x, y).Red, 255 - pixel - 2, 255 - pixel + 2);
            }
        }
    }

    [Theory]
    [InlineData(0.999, 0.8)] // a good model: the corner as it always was
    [InlineData(0.47, 0.45)] // a weak one (784-2-10, 58%): a fixed 0.8 showed 4 of its 12 curves
    [InlineData(0.45, 0.4)]
    [InlineData(0.01, 0)]
    public void The_enlarged_roc_corner_reaches_down_to_the_lowest_curve(double lowest, double bottom)
    {
        Assert.Equal(bottom, Plots.CornerBottom(lowest), 12);
        Assert.True(Plots.CornerBottom(lowest) <= lowest);
    }

    [Fact]
    public void Misclassified_with_no_mistakes_still_writes_a_picture()
    {
        var test = Dataset.FromBytes(new byte[784], [0], 784, 255f);
        string path = Path.Combine(_folder, "none.png");

        Plots.Misclassified(test, [], path);

        using SKBitmap picture = SKBitmap.Decode(path);
        Assert.NotNull(picture);
    }
}
