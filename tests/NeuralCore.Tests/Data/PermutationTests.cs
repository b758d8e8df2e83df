using FsCheck.Xunit;
using NeuralCore.Data;
using NeuralCore.Randomness;

namespace NeuralCore.Tests.Data;

public class PermutationTests
{
    [Property(MaxTest = 200)]
    public void Create_returns_a_permutation(ushort size, ulong seed)
    {
        int count = size % 2000;
        int[] permutation = Permutation.Create(count, seed);
        Assert.Equal(Enumerable.Range(0, count), permutation.Order());
    }

    [Property(MaxTest = 100)]
    public void The_seed_fixes_the_order(ulong seed)
    {
        Assert.Equal(Permutation.Create(500, seed), Permutation.Create(500, seed));
        Assert.NotEqual(Permutation.Create(500, seed), Permutation.Create(500, seed + 1));
    }

    [Fact]
    public void Order_is_pinned_across_versions()
    {
        // From golden_permutation.py, written from the published algorithms (SplitMix64, xoshiro128**, Lemire,
        // Fisher–Yates from the end). A change here means every seeded shuffle, and so every seeded run, changes.
        Assert.Equal([7, 5, 1, 9, 2, 6, 3, 0, 8, 4], Permutation.Create(10, 42));
        Assert.Equal([0, 3, 2, 8, 1, 6, 12, 10, 5, 7, 11, 4, 15, 14, 9, 13], Permutation.Create(16, 0));
    }

    [Fact]
    public void Fill_and_Shuffle_agree_with_Create()
    {
        var filled = new int[64];
        Permutation.Fill(filled, 9);
        Assert.Equal(Permutation.Create(64, 9), filled);

        int[] values = [.. Enumerable.Range(0, 64)];
        Permutation.Shuffle(values, 9);
        Assert.Equal(filled, values);

        Assert.Empty(Permutation.Create(0, 1));
        Assert.Equal([0], Permutation.Create(1, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => Permutation.Create(-1, 1));
    }

    [Fact]
    public void Shuffle_moves_values_not_just_indices()
    {
        int[] values = [10, 20, 30, 40, 50];
        Permutation.Shuffle(values, 5);
        Assert.Equal([10, 20, 30, 40, 50], values.Order());
    }

    [Fact]
    public void A_continued_generator_gives_a_new_order_each_epoch()
    {
        var random = new Xoshiro128(7);
        int[] order = [.. Enumerable.Range(0, 100)];
        Permutation.Shuffle(order, ref random);
        int[] first = [.. order];
        Permutation.Shuffle(order, ref random);
        Assert.NotEqual(first, order);
        Assert.Equal(Enumerable.Range(0, 100), order.Order());
    }

    [Fact]
    public void All_orders_are_about_equally_likely()
    {
        // 4 elements: 24 orders, 48,000 seeds, 2,000 expected each; ±15% is over 10 standard deviations.
        var counts = new Dictionary<int, int>();
        var values = new int[4];
        for (ulong seed = 0; seed < 48_000; seed++)
        {
            Permutation.Fill(values, seed);
            int key = (values[0] * 1000) + (values[1] * 100) + (values[2] * 10) + values[3];
            counts[key] = counts.GetValueOrDefault(key) + 1;
        }

        Assert.Equal(24, counts.Count);
        Assert.All(counts.Values, c => Assert.InRange(c, 1700, 2300));
    }

    [Theory]
    [InlineData(int.MaxValue)]
    [InlineData(0x7FFFFFC8)]
    [InlineData(-1)]
    public void A_count_no_array_holds_is_refused_naming_count(int count)
    {
        // int.MaxValue gave OutOfMemoryException "Array dimensions exceeded supported range".
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => Permutation.Create(count, 1));
        Assert.Equal("count", e.ParamName);
        Assert.Contains($"count={count}", e.Message, StringComparison.Ordinal);
    }
}
