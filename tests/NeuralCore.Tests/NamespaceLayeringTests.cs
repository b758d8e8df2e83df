using System.Text;
using System.Text.RegularExpressions;

namespace NeuralCore.Tests;

/// <summary>
/// The one-way order of docs/architecture.md ("Data → Model (Layers → Kernels) → Loss → Optimizer, driven by
/// Training"; a lower namespace never uses a higher one), read from the source of src/NeuralCore: each folder is one
/// namespace, and a file uses another namespace where its code (not its comments or strings) names it in a using
/// directive or a qualified name.
/// </summary>
/// <remarks>
/// Only the edges that the documented order forbids and that the library keeps are checked. The model drives its
/// layers, loss and optimizer (<c>Compile</c> takes them), so those never use the model; Training drives everything,
/// so nothing uses it; the kernels are the bottom (spans in, spans out), using only the threads. Other edges against
/// the table's order (Data's use of <c>LossTargets</c>, the layers' of <c>ParameterSegment</c> from Optimizers, the
/// Configuration registry and the components that register in it) are not checked here.
/// </remarks>
public class NamespaceLayeringTests
{
    /// <summary>Each namespace, with those of the documented order it must never use.</summary>
    public static TheoryData<string, string[]> ForbiddenUses() => new()
    {
        { "Kernels", ["Data", "Layers", "Models", "Losses", "Optimizers", "Scoring", "Training"] },
        { "Layers", ["Models", "Training"] },
        { "Losses", ["Models", "Training"] },
        { "Optimizers", ["Models", "Training"] },
        { "Data", ["Models", "Layers", "Optimizers", "Training"] },
        { "Scoring", ["Models", "Training"] },
        { "Models", ["Training"] },
        { "Serialization", ["Training"] },
        { "Configuration", ["Training"] },
        { "Diagnostics", ["Training"] },
    };

    [Theory]
    [MemberData(nameof(ForbiddenUses))]
    public void A_namespace_never_uses_one_above_it(string folder, string[] forbidden)
    {
        string directory = Path.Combine(RepositoryRoot(), "src", "NeuralCore", folder);
        string[] files = [.. Directory.EnumerateFiles(directory, "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal))];
        Assert.NotEmpty(files);
        List<string> uses = [];
        foreach (string file in files)
        {
            string code = CodeOnly(File.ReadAllText(file));
            foreach (string other in forbidden)
            {
                if (Uses(code, other))
                {
                    uses.Add($"{Path.GetFileName(file)} uses NeuralCore.{other}");
                }
            }
        }

        Assert.True(uses.Count == 0, $"NeuralCore.{folder} must not use {string.Join(", ", forbidden)}: {string.Join("; ", uses)}");
    }

    [Fact]
    public void The_scan_sees_using_directives_and_qualified_names_but_not_comments_or_strings()
    {
        Assert.True(Uses(CodeOnly("using NeuralCore.Models;\nclass A { }"), "Models"));
        Assert.True(Uses(CodeOnly("class A { float F => Models.Sequential.X; }"), "Models"));
        Assert.True(Uses(CodeOnly("class A { object F => new NeuralCore.Models.Sequential(); }"), "Models"));
        Assert.True(Uses(CodeOnly("using static NeuralCore.Models.Sequential;"), "Models"));
        Assert.False(Uses(CodeOnly("/// <see cref=\"Models.Sequential\"/>\nclass A { }"), "Models"));
        Assert.False(Uses(CodeOnly("class A { string S = \"Models.Sequential\"; /* Models.Sequential */ }"), "Models"));
        Assert.False(Uses(CodeOnly("class A { int F => model.Models.Count; }"), "Models"));
    }

    // A using directive (plain, static or alias) of the namespace, or a qualified name through it: NeuralCore.X.Y, or
    // X.Y from inside NeuralCore (a sibling namespace resolves without its prefix), but not a member access a.X.Y.
    private static bool Uses(string code, string other) =>
        Regex.IsMatch(code, $@"\busing\s+(static\s+)?(\w+\s*=\s*)?(global::)?NeuralCore\.{other}\b")
        || Regex.IsMatch(code, $@"(?<![\w.])(global::)?(NeuralCore\.)?{other}\.[A-Z]");

    // The source with its comments and the contents of its string and character literals blanked, so that a cref or a
    // message naming a type is not counted as a use.
    private static string CodeOnly(string source)
    {
        var code = new StringBuilder(source.Length);
        int i = 0;
        while (i < source.Length)
        {
            char c = source[i];
            char next = i + 1 < source.Length ? source[i + 1] : '\0';
            if (c == '/' && next == '/')
            {
                while (i < source.Length && source[i] != '\n')
                {
                    i++;
                }
            }
            else if (c == '/' && next == '*')
            {
                int end = source.IndexOf("*/", i + 2, StringComparison.Ordinal);
                i = end < 0 ? source.Length : end + 2;
            }
            else if (c == '"' && string.CompareOrdinal(source, i, "\"\"\"", 0, 3) == 0)
            {
                int end = source.IndexOf("\"\"\"", i + 3, StringComparison.Ordinal);
                i = end < 0 ? source.Length : end + 3;
                code.Append("\"\"");
            }
            else if (c == '"' || c == '\'')
            {
                bool verbatim = i > 0 && source[i - 1] == '@' || i > 1 && source[i - 2] == '@' && source[i - 1] == '$';
                i++;
                while (i < source.Length)
                {
                    if (!verbatim && source[i] == '\\')
                    {
                        i += 2;
                    }
                    else if (source[i] == c && verbatim && i + 1 < source.Length && source[i + 1] == c)
                    {
                        i += 2;
                    }
                    else if (source[i] == c)
                    {
                        i++;
                        break;
                    }
                    else
                    {
                        i++;
                    }
                }

                code.Append(c).Append(c);
            }
            else
            {
                code.Append(c);
                i++;
            }
        }

        return code.ToString();
    }

    private static string RepositoryRoot()
    {
        for (DirectoryInfo? d = new(AppContext.BaseDirectory); d is not null; d = d.Parent)
        {
            if (File.Exists(Path.Combine(d.FullName, "NeuralCore.sln")))
            {
                return d.FullName;
            }
        }

        throw new InvalidOperationException($"No NeuralCore.sln above {AppContext.BaseDirectory}.");
    }
}
