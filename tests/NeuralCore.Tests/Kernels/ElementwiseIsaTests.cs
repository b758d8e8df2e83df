using NeuralCore.Kernels;

namespace NeuralCore.Tests.Kernels;

/// <summary>
/// Every instruction-set path of the hand-vectorized element-wise and optimizer kernels, selected in-process as the
/// GEMM's are, against a scalar formula written here in plain float arithmetic, bit for bit, at every length 0..256
/// and a few longer odd ones (so each vector width meets every tail). The CI runs at lower ISA levels then only add
/// what this process cannot select (the scalar fallbacks of <c>TensorPrimitives</c>).
/// </summary>
public class ElementwiseIsaTests
{
    private const float Floor = OptimizerKernels.MomentFloor;

    private static readonly int[] LengthList = [.. Enumerable.Range(0, 257), 509, 1021];

    // By name: the enum is internal, and a theory's parameters must be public types.
    public static TheoryData<string> Paths() => [.. KernelIsaSupport.Supported.Select(isa => isa.ToString())];

    [Theory]
    [MemberData(nameof(Paths))]
    public void Adam_is_the_scalar_rule_bit_for_bit(string path)
    {
        KernelIsa isa = Enum.Parse<KernelIsa>(path);
        const float alpha = 0.01f, beta1 = 0.9f, beta2 = 0.999f, epsilon = 1e-7f;
        foreach (int n in LengthList)
        {
            (float[] p, float[] g) = (Values(n, 1), Values(n, 2));
            (float[] m, float[] v) = (QuietMoments(n, 3, g), Moments(n, 4));
            float[] ep = (float[])p.Clone(), em = (float[])m.Clone(), ev = (float[])v.Clone();
            OptimizerKernels.AdamUpdate(p, g, m, v, alpha, beta1, beta2, epsilon, isa);
            for (int i = 0; i < n; i++)
            {
                (em[i], ev[i]) = AdamMoments(em[i], ev[i], g[i], beta1, beta2);
                ep[i] -= alpha * em[i] / (MathF.Sqrt(ev[i]) + epsilon);
            }

            AssertBits(em, m, isa, n, "m");
            AssertBits(ev, v, isa, n, "v");
            AssertBits(ep, p, isa, n, "parameters");
        }
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void Adafactor_is_the_scalar_rule_bit_for_bit(string path)
    {
        KernelIsa isa = Enum.Parse<KernelIsa>(path);
        const float step = 0.02f;
        foreach (int n in LengthList)
        {
            (float[] p, float[] g) = (Values(n, 38), Values(n, 39));
            float[] v = Moments(n, 40);
            foreach (float rowRoot in new[] { 1f, 0.37f })
            {
                float[] ep = (float[])p.Clone();
                OptimizerKernels.AdafactorUpdate(p, g, v, rowRoot, step, isa);
                for (int i = 0; i < n; i++)
                {
                    ep[i] -= step * (g[i] / (rowRoot * MathF.Sqrt(v[i])));
                }

                AssertBits(ep, p, isa, n, $"parameters at row root {rowRoot}");
            }
        }
    }

    [Fact]
    public void The_penalty_of_any_span_has_the_same_bits_on_every_path_and_is_near_the_exact_one()
    {
        // Rows of 256 and a shorter last one, column by column (MatrixSums): lengths below, at and above a row.
        foreach (int n in LengthList)
        {
            float[] w = Seeded.Uniform(n, 12, 3f);
            double expected = RegularizerKernels.PenaltyUnchecked(w, 0.5f, 2f, KernelIsa.Scalar);
            double exact = w.Sum(v => (0.5 * Math.Abs((double)v)) + (2.0 * v * v));
            Assert.True(Math.Abs(expected - exact) <= 1e-6 * exact, $"n = {n}: {expected} against {exact}");
            foreach (KernelIsa isa in KernelIsaSupport.Supported)
            {
                Assert.Equal(expected, RegularizerKernels.PenaltyUnchecked(w, 0.5f, 2f, isa));
            }
        }
    }

    [Theory]
    [InlineData(300, 64)]
    [InlineData(784, 128)]
    [InlineData(37, 96)]
    [InlineData(1000, 32)]
    [InlineData(1024, 10)]
    [InlineData(50, 40)]
    [InlineData(1, 71)]
    [InlineData(40, 1024)] // wider than the strips' stride: row by row
    [InlineData(30, 288)]
    public void A_matrix_penalty_has_the_same_bits_in_panel_order_and_on_every_path(int rows, int columns)
    {
        // Column by column down the rows in both orders, lane by lane on every path: so a first layer with a kernel
        // regularizer can stay in panel order through Fit.
        float[] w = Seeded.Uniform(rows * columns, rows + columns, 2f);
        float[] scratch = new float[2 * columns];
        (double m, double s) expected = RegularizerKernels.MatrixSums(w, rows, columns, default, scratch, KernelIsa.Scalar);
        double exactM = w.Sum(v => Math.Abs((double)v)), exactS = w.Sum(v => (double)v * v);
        Assert.True(Math.Abs(expected.m - exactM) <= 1e-6 * exactM && Math.Abs(expected.s - exactS) <= 1e-6 * exactS, $"{expected} against ({exactM}, {exactS})");
        foreach (KernelIsa isa in KernelIsaSupport.Supported)
        {
            Assert.Equal(expected, RegularizerKernels.MatrixSums(w, rows, columns, default, scratch, isa));
            if (!PanelLayout.TryCreate(rows, columns, isa, out PanelLayout layout))
            {
                // Too narrow for panels, or a width the tile does not divide: such a layer stays row-major.
                Assert.True(columns % 32 != 0 || columns <= 16, $"{isa}: no panel layout for [{rows}, {columns}]");
                continue;
            }

            float[] panels = (float[])w.Clone();
            layout.Reorder(panels, new float[layout.ScratchLength], toPanels: true);
            Assert.True(columns == layout.Nr || !panels.AsSpan().SequenceEqual(w), "the reorder should move the values");
            Assert.Equal(expected, RegularizerKernels.MatrixSums(panels, rows, columns, layout, scratch, isa));
        }
    }

    [Theory]
    [InlineData(300, 64)]
    [InlineData(40, 1024)]
    [InlineData(30, 288)]
    [InlineData(7, 100)]
    public void Scaling_columns_is_the_scalar_product_in_either_order_on_every_path(int rows, int columns)
    {
        // A constraint's rescaling of each column (ScaleColumns), whole and from the second group of 32 columns on.
        float[] w = Seeded.Uniform(rows * columns, rows * columns, 2f), factors = Seeded.Uniform(columns, columns, 1.5f);
        foreach ((int c0, int c1) in new[] { (0, columns), (Math.Min(32, columns), columns) })
        {
            float[] expected = (float[])w.Clone();
            for (int r = 0; r < rows; r++)
            {
                for (int c = c0; c < c1; c++)
                {
                    expected[(r * columns) + c] *= factors[c];
                }
            }

            foreach (KernelIsa isa in KernelIsaSupport.Supported)
            {
                float[] scaled = (float[])w.Clone();
                RegularizerKernels.ScaleColumns(scaled, rows, columns, default, c0, c1, factors, isa);
                Assert.Equal(expected, scaled);
                if (PanelLayout.TryCreate(rows, columns, isa, out PanelLayout layout))
                {
                    float[] panels = (float[])w.Clone(), scratch = new float[layout.ScratchLength];
                    layout.Reorder(panels, scratch, toPanels: true);
                    RegularizerKernels.ScaleColumns(panels, rows, columns, layout, c0, c1, factors, isa);
                    layout.Reorder(panels, scratch, toPanels: false);
                    Assert.Equal(expected, panels);
                }
            }
        }
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void The_regularizer_gradient_is_the_scalar_rule_bit_for_bit(string path)
    {
        KernelIsa isa = Enum.Parse<KernelIsa>(path);
        foreach ((float l1, float l2) in new[] { (0.01f, 0.003f), (0f, 0.5f), (0.2f, 0f) })
        {
            foreach (int n in LengthList)
            {
                (float[] w, float[] g) = (Values(n, 10), Values(n, 11));
                float[] expected = (float[])g.Clone();
                RegularizerKernels.AddGradient(w, g, l1, l2, isa);
                for (int i = 0; i < n; i++)
                {
                    float sign = w[i] > 0f ? 1f : w[i] < 0f ? -1f : w[i];
                    expected[i] += (2f * l2 * w[i]) + (l1 * sign);
                }

                AssertBits(expected, g, isa, n, $"gradient with l1 {l1}, l2 {l2}");
            }
        }
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void Amsgrad_is_the_scalar_rule_bit_for_bit(string path)
    {
        KernelIsa isa = Enum.Parse<KernelIsa>(path);
        const float alpha = 0.01f, beta1 = 0.8f, beta2 = 0.99f, epsilon = 1e-7f;
        foreach (int n in LengthList)
        {
            (float[] p, float[] g, float[] m, float[] v, float[] vMax) = (Values(n, 5), Values(n, 6), Moments(n, 7), Moments(n, 8), Moments(n, 9));
            float[] ep = (float[])p.Clone(), em = (float[])m.Clone(), ev = (float[])v.Clone(), eMax = (float[])vMax.Clone();
            OptimizerKernels.AmsgradUpdate(p, g, m, v, vMax, alpha, beta1, beta2, epsilon, isa);
            for (int i = 0; i < n; i++)
            {
                (em[i], ev[i]) = AdamMoments(em[i], ev[i], g[i], beta1, beta2);
                eMax[i] = MathF.Max(eMax[i], ev[i]);
                ep[i] -= alpha * em[i] / (MathF.Sqrt(eMax[i]) + epsilon);
            }

            AssertBits(em, m, isa, n, "m");
            AssertBits(ev, v, isa, n, "v");
            AssertBits(eMax, vMax, isa, n, "v max");
            AssertBits(ep, p, isa, n, "parameters");
        }
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void RmsProp_is_the_scalar_rule_bit_for_bit_in_all_four_forms(string path)
    {
        KernelIsa isa = Enum.Parse<KernelIsa>(path);
        const float lr = 0.01f, rho = 0.9f, mu = 0.5f, epsilon = 1e-7f;
        foreach ((bool momentum, bool centered) in new[] { (false, false), (true, false), (false, true), (true, true) })
        {
            foreach (int n in LengthList)
            {
                (float[] p, float[] g, float[] s) = (Values(n, 10), Values(n, 11), Moments(n, 12));
                float[] u = momentum ? Values(n, 13) : [], a = centered ? Values(n, 14, 0.01f) : [];
                float[] ep = (float[])p.Clone(), es = (float[])s.Clone(), eu = (float[])u.Clone(), ea = (float[])a.Clone();
                OptimizerKernels.RmsPropUpdate(p, g, s, u, a, lr, rho, mu, epsilon, isa);
                for (int i = 0; i < n; i++)
                {
                    float vi = (rho * es[i]) + ((1f - rho) * (g[i] * g[i]));
                    es[i] = vi = vi < Floor ? 0f : vi;
                    float denominator = vi + epsilon;
                    if (centered)
                    {
                        ea[i] = (rho * ea[i]) + ((1f - rho) * g[i]);
                        denominator = vi - (ea[i] * ea[i]) + epsilon;
                    }

                    float increment = lr * g[i] / MathF.Sqrt(denominator);
                    if (momentum)
                    {
                        increment = eu[i] = (mu * eu[i]) + increment;
                    }

                    ep[i] -= increment;
                }

                string form = $"momentum={momentum}, centered={centered}";
                AssertBits(es, s, isa, n, $"mean square ({form})");
                AssertBits(eu, u, isa, n, $"velocity ({form})");
                AssertBits(ea, a, isa, n, $"average ({form})");
                AssertBits(ep, p, isa, n, $"parameters ({form})");
            }
        }
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void Sgd_is_the_scalar_rule_bit_for_bit_in_all_three_forms(string path)
    {
        KernelIsa isa = Enum.Parse<KernelIsa>(path);
        const float lr = 0.05f;
        foreach ((float mu, bool nesterov) in new[] { (0f, false), (0.9f, false), (0.9f, true) })
        {
            foreach (int n in LengthList)
            {
                (float[] p, float[] g) = (Values(n, 15), Values(n, 16));
                float[] u = mu == 0f ? [] : Values(n, 17);
                float[] ep = (float[])p.Clone(), eu = (float[])u.Clone();
                OptimizerKernels.SgdUpdate(p, g, u, lr, mu, nesterov, isa);
                for (int i = 0; i < n; i++)
                {
                    if (mu == 0f)
                    {
                        ep[i] -= lr * g[i];
                        continue;
                    }

                    float step = lr * g[i];
                    eu[i] = (mu * eu[i]) - step;
                    ep[i] += nesterov ? (mu * eu[i]) - step : eu[i];
                }

                AssertBits(eu, u, isa, n, $"velocity (momentum={mu}, nesterov={nesterov})");
                AssertBits(ep, p, isa, n, $"parameters (momentum={mu}, nesterov={nesterov})");
            }
        }
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void Adagrad_is_the_scalar_rule_bit_for_bit(string path)
    {
        KernelIsa isa = Enum.Parse<KernelIsa>(path);
        const float lr = 0.05f, epsilon = 1e-7f;
        foreach (int n in LengthList)
        {
            (float[] p, float[] g, float[] a) = (Values(n, 20), Values(n, 21), Moments(n, 22));
            float[] ep = (float[])p.Clone(), ea = (float[])a.Clone();
            OptimizerKernels.AdagradUpdate(p, g, a, lr, epsilon, isa);
            for (int i = 0; i < n; i++)
            {
                float ai = ea[i] + (g[i] * g[i]);
                ea[i] = ai = ai < Floor ? 0f : ai;
                ep[i] -= lr * g[i] / MathF.Sqrt(ai + epsilon);
            }

            AssertBits(ea, a, isa, n, "accumulator");
            AssertBits(ep, p, isa, n, "parameters");
        }
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void Adadelta_is_the_scalar_rule_bit_for_bit(string path)
    {
        KernelIsa isa = Enum.Parse<KernelIsa>(path);
        const float lr = 1f, rho = 0.95f, epsilon = 1e-7f;
        foreach (int n in LengthList)
        {
            (float[] p, float[] g, float[] a, float[] d) = (Values(n, 23), Values(n, 24), Moments(n, 25), Moments(n, 26));
            float[] ep = (float[])p.Clone(), ea = (float[])a.Clone(), ed = (float[])d.Clone();
            OptimizerKernels.AdadeltaUpdate(p, g, a, d, lr, rho, epsilon, isa);
            for (int i = 0; i < n; i++)
            {
                float ai = (rho * ea[i]) + ((1f - rho) * (g[i] * g[i]));
                ea[i] = ai = ai < Floor ? 0f : ai;
                float delta = MathF.Sqrt(ed[i] + epsilon) * g[i] / MathF.Sqrt(ai + epsilon);
                float di = (rho * ed[i]) + ((1f - rho) * (delta * delta));
                ed[i] = di < Floor ? 0f : di;
                ep[i] -= lr * delta;
            }

            AssertBits(ea, a, isa, n, "gradient average");
            AssertBits(ed, d, isa, n, "update average");
            AssertBits(ep, p, isa, n, "parameters");
        }
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void Adamax_is_the_scalar_rule_bit_for_bit(string path)
    {
        KernelIsa isa = Enum.Parse<KernelIsa>(path);
        const float alpha = 0.02f, beta1 = 0.9f, beta2 = 0.5f, epsilon = 1e-7f;
        foreach (int n in LengthList)
        {
            (float[] p, float[] g) = (Values(n, 27), Values(n, 28));
            (float[] m, float[] u) = (QuietMoments(n, 29, g), Moments(n, 30));
            float[] ep = (float[])p.Clone(), em = (float[])m.Clone(), eu = (float[])u.Clone();
            OptimizerKernels.AdamaxUpdate(p, g, m, u, alpha, beta1, beta2, epsilon, isa);
            for (int i = 0; i < n; i++)
            {
                float mi = em[i] + ((g[i] - em[i]) * (1f - beta1));
                em[i] = mi = MathF.Abs(mi) < Floor ? 0f : mi;
                float ui = MathF.Max(beta2 * eu[i], MathF.Abs(g[i]));
                eu[i] = ui = ui < Floor ? 0f : ui;
                ep[i] -= alpha * mi / (ui + epsilon);
            }

            AssertBits(em, m, isa, n, "m");
            AssertBits(eu, u, isa, n, "u");
            AssertBits(ep, p, isa, n, "parameters");
        }
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void Nadam_is_the_scalar_rule_bit_for_bit(string path)
    {
        KernelIsa isa = Enum.Parse<KernelIsa>(path);
        const float a = 0.03f, b = 0.004f, c = 1.7f, beta1 = 0.9f, beta2 = 0.999f, epsilon = 1e-7f;
        foreach (int n in LengthList)
        {
            (float[] p, float[] g) = (Values(n, 31), Values(n, 32));
            (float[] m, float[] v) = (QuietMoments(n, 33, g), Moments(n, 34));
            float[] ep = (float[])p.Clone(), em = (float[])m.Clone(), ev = (float[])v.Clone();
            OptimizerKernels.NadamUpdate(p, g, m, v, a, b, c, beta1, beta2, epsilon, isa);
            for (int i = 0; i < n; i++)
            {
                (em[i], ev[i]) = AdamMoments(em[i], ev[i], g[i], beta1, beta2);
                ep[i] -= ((a * em[i]) + (b * g[i])) / (MathF.Sqrt(ev[i] * c) + epsilon);
            }

            AssertBits(em, m, isa, n, "m");
            AssertBits(ev, v, isa, n, "v");
            AssertBits(ep, p, isa, n, "parameters");
        }
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void Lion_is_the_scalar_rule_bit_for_bit(string path)
    {
        KernelIsa isa = Enum.Parse<KernelIsa>(path);
        const float lr = 0.01f, beta1 = 0.9f, beta2 = 0.99f;
        foreach (int n in LengthList)
        {
            (float[] p, float[] g) = (Values(n, 35), Values(n, 36));
            float[] m = QuietMoments(n, 37, g);
            for (int i = 0; i < n; i += 13)
            {
                // Subnormal after the decay (flushed), and normal after it (kept): Lion flushes only subnormals.
                (m[i], g[i]) = (i % 26 == 0 ? 1.1e-38f : -2e-38f, 0f);
            }

            float[] ep = (float[])p.Clone(), em = (float[])m.Clone();
            OptimizerKernels.LionUpdate(p, g, m, lr, beta1, beta2, isa);
            for (int i = 0; i < n; i++)
            {
                float c = (em[i] * beta1) + (g[i] * (1f - beta1));
                float sign = c > 0f ? 1f : c < 0f ? -1f : c;
                ep[i] -= lr * sign;
                float mi = (em[i] * beta2) + (g[i] * (1f - beta2));
                em[i] = MathF.Abs(mi) < OptimizerKernels.LionFloor ? 0f : mi;
            }

            AssertBits(em, m, isa, n, "m");
            AssertBits(ep, p, isa, n, "parameters");
        }
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void Activation_gradients_are_the_scalar_formulas_bit_for_bit(string path)
    {
        KernelIsa isa = Enum.Parse<KernelIsa>(path);
        foreach (int n in LengthList)
        {
            float[] x = Values(n, 18), dy = Values(n, 19), y = Seeded.Uniform(n, 20, 0.999f);
            float[] relu = new float[n], sigmoid = new float[n], tanh = new float[n];
            Elementwise.ReluBackward(x, dy, relu, isa);
            Activations.SigmoidBackward(y, dy, sigmoid, isa);
            Activations.TanhBackward(y, dy, tanh, isa);
            AssertBits([.. x.Select((v, i) => v > 0f ? dy[i] : 0f)], relu, isa, n, "ReLU backward");
            AssertBits([.. y.Select((v, i) => dy[i] * (v * (1f - v)))], sigmoid, isa, n, "sigmoid backward");
            AssertBits([.. y.Select((v, i) => dy[i] * (1f - (v * v)))], tanh, isa, n, "tanh backward");

            // In place on the gradient, as the layers run it.
            float[] inPlace = (float[])dy.Clone();
            Elementwise.ReluBackward(x, inPlace, inPlace, isa);
            AssertBits(relu, inPlace, isa, n, "ReLU backward in place");
        }
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void Column_sums_are_the_scalar_additions_bit_for_bit(string path)
    {
        // Up to 16 columns the 512-bit path adds the rows in one masked vector; every width must add what the scalar
        // loop adds, in the same order (sums first, rows in increasing order).
        KernelIsa isa = Enum.Parse<KernelIsa>(path);
        foreach (int columns in LengthList)
        {
            foreach (int rows in new[] { 0, 1, 2, 7, 33 })
            {
                float[] matrix = Values(rows * columns, columns + rows), sums = Values(columns, columns + 1);
                float[] expected = (float[])sums.Clone();
                for (int r = 0; r < rows; r++)
                {
                    for (int j = 0; j < columns; j++)
                    {
                        expected[j] += matrix[(r * columns) + j];
                    }
                }

                Elementwise.AccumulateColumnSums(matrix, sums, rows, isa);
                AssertBits(expected, sums, isa, columns, $"column sums of {rows} rows");
            }
        }
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void Bytes_to_singles_is_the_scalar_division_bit_for_bit(string path)
    {
        KernelIsa isa = Enum.Parse<KernelIsa>(path);
        foreach (int n in LengthList)
        {
            byte[] bytes = [.. Enumerable.Range(0, n).Select(i => (byte)((i * 37) + (n * 11)))];
            float[] actual = new float[n];
            Elementwise.BytesToSingles(bytes, actual, 255f, isa);
            AssertBits([.. bytes.Select(b => b / 255f)], actual, isa, n, "bytes to singles");
        }
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public unsafe void Streaming_bytes_to_singles_is_the_scalar_division_bit_for_bit_at_every_alignment(string path)
    {
        // The streaming stores start at the destination's first 64-byte line: every offset from a line (0..15 floats),
        // so that each length meets every split into head, whole lines and tail; nothing outside the span is written.
        KernelIsa isa = Enum.Parse<KernelIsa>(path);
        float[] buffer = GC.AllocateArray<float>(LengthList.Max() + 48, pinned: true);
        fixed (float* start = buffer)
        {
            int line = (int)((64 - ((nuint)start % 64)) % 64 / sizeof(float));
            foreach (int n in LengthList)
            {
                byte[] bytes = [.. Enumerable.Range(0, n).Select(i => (byte)((i * 97) + n))];
                float[] expected = [.. bytes.Select(b => b / 255f)];
                for (int offset = 0; offset < 16; offset++)
                {
                    Array.Fill(buffer, -1f);
                    Elementwise.BytesToSinglesStreaming(bytes, buffer.AsSpan(line + offset, n), 255f, isa);
                    Elementwise.StreamingFence();
                    AssertBits(expected, buffer[(line + offset)..(line + offset + n)], isa, n, $"streaming bytes to singles at offset {offset}");
                    Assert.True(buffer.AsSpan(0, line + offset).IndexOfAnyExcept(-1f) < 0, $"{isa}, n = {n}, offset {offset}: a store before the span");
                    Assert.True(buffer.AsSpan(line + offset + n).IndexOfAnyExcept(-1f) < 0, $"{isa}, n = {n}, offset {offset}: a store after the span");
                }
            }
        }
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void Index_of_non_finite_finds_the_first_nan_or_infinity_at_every_position(string path)
    {
        KernelIsa isa = Enum.Parse<KernelIsa>(path);
        float[] bad = [float.NaN, float.PositiveInfinity, float.NegativeInfinity];
        foreach (int n in LengthList)
        {
            // Finite extremes and subnormals are finite.
            float[] values = [.. Enumerable.Range(0, n).Select(i => (i % 4) switch { 0 => float.MaxValue, 1 => -float.Epsilon, 2 => -0f, _ => i })];
            Assert.Equal(-1, Elementwise.IndexOfNonFinite(values, isa));
            for (int at = 0; at < n; at += Math.Max(1, n / 7))
            {
                float[] copy = (float[])values.Clone();
                copy[at] = bad[at % 3];
                if (at + 3 < n)
                {
                    copy[at + 3] = float.NaN;
                }

                Assert.True(at == Elementwise.IndexOfNonFinite(copy, isa), $"{isa}, n = {n}: {bad[at % 3]} at {at}");
            }
        }
    }

    private static (float M, float V) AdamMoments(float m, float v, float g, float beta1, float beta2)
    {
        m += (g - m) * (1f - beta1);
        v += ((g * g) - v) * (1f - beta2);
        return (MathF.Abs(m) < Floor ? 0f : m, v < Floor ? 0f : v);
    }

    /// <summary>Seeded values with the edge cases a vector select can get wrong: ±0, NaN, the smallest subnormal, and values that fall under the moment floor.</summary>
    private static float[] Values(int n, int seed, float scale = 1f)
    {
        float[] values = Seeded.Uniform(n, seed, scale);
        float[] special = [0f, -0f, float.NaN, float.Epsilon, -float.Epsilon, 1e-31f, -1e-31f, 3e-16f];
        for (int i = seed % 5; i < n; i += 11)
        {
            values[i] = special[(i / 11) % special.Length];
        }

        return values;
    }

    /// <summary>
    /// First moments of both signs, with <see cref="Moments"/>'s tiny ones (1e-30 and 0), and the gradient set to 0 at
    /// those places, so that the update takes them under the floor (or, for Lion, to a sign of exactly 0): with the
    /// gradient's own special values elsewhere, a rule that skipped the flush passed.
    /// </summary>
    private static float[] QuietMoments(int n, int seed, float[] gradients)
    {
        float[] m = Moments(n, seed);
        for (int i = 0; i < n; i++)
        {
            if (m[i] is 0f or 1e-30f)
            {
                gradients[i] = 0f;
            }
            else if (i % 2 == 1)
            {
                m[i] = -m[i];
            }
        }

        return m;
    }

    /// <summary>Non-negative second moments (and first moments) with tiny ones that the update pushes under the floor.</summary>
    private static float[] Moments(int n, int seed)
    {
        float[] values = [.. Seeded.Uniform(n, seed, 0.1f).Select(MathF.Abs)];
        for (int i = seed % 3; i < n; i += 7)
        {
            values[i] = i % 2 == 0 ? 1e-30f : 0f;
        }

        return values;
    }

    private static void AssertBits(float[] expected, float[] actual, KernelIsa isa, int length, string what)
    {
        for (int i = 0; i < expected.Length; i++)
        {
            if (BitConverter.SingleToInt32Bits(expected[i]) != BitConverter.SingleToInt32Bits(actual[i]))
            {
                Assert.Fail($"{what} on the {isa} path, length {length}: element {i} is {actual[i]:R} where the scalar rule gives {expected[i]:R}");
            }
        }
    }
}
