using System.Diagnostics;
using System.Reflection;
using BenchmarkDotNet.Attributes;

namespace NeuralCore.Benchmarks;

/// <summary>
/// <c>--smoke</c>: every benchmark in this process, at the first value of each parameter and again at the last (the
/// largest sizes, the widest vector path, the most threads): each time its global setup, one call, its cleanup. Seconds
/// instead of BenchmarkDotNet's minutes, so CI runs it on every change; a benchmark that throws (a broken setup, a
/// shape the kernels refuse, outputs that disagree) fails the run with its name and parameters.
/// </summary>
internal static class Smoke
{
    public static int Run(TextWriter output)
    {
        int failures = 0, ran = 0;
        Type[] types = [.. typeof(Smoke).Assembly.GetTypes()
            .Where(t => t is { IsClass: true, IsAbstract: false } && t.GetMethods().Any(m => m.GetCustomAttribute<BenchmarkAttribute>() is not null))
            .OrderBy(t => t.Name, StringComparer.Ordinal)];
        foreach (Type type in types)
        {
            foreach (MethodInfo benchmark in type.GetMethods().Where(m => m.GetCustomAttribute<BenchmarkAttribute>() is not null))
            {
                string? first = null;
                foreach (bool last in (bool[])[false, true])
                {
                    string name = $"{type.Name}.{benchmark.Name}";
                    long start = Stopwatch.GetTimestamp();
                    object instance = Activator.CreateInstance(type)!;
                    string parameters;
                    try
                    {
                        parameters = SetParameters(instance, last);
                    }
                    catch (TargetInvocationException ex)
                    {
                        failures++;
                        output.WriteLine($"smoke: {name} FAILED setting its {(last ? "last" : "first")} parameters: {ex.InnerException?.GetType().Name}: {ex.InnerException?.Message}");
                        continue;
                    }

                    if (parameters == first)
                    {
                        // Every parameter has one value: the last combination is the first.
                        continue;
                    }

                    first ??= parameters;
                    try
                    {
                        Invoke<GlobalSetupAttribute>(instance);
                        try
                        {
                            benchmark.Invoke(instance, null);
                        }
                        finally
                        {
                            Invoke<GlobalCleanupAttribute>(instance);
                        }

                        ran++;
                        output.WriteLine($"smoke: {name} [{parameters}] ok ({Stopwatch.GetElapsedTime(start).TotalMilliseconds:0} ms)");
                    }
                    catch (TargetInvocationException ex)
                    {
                        failures++;
                        output.WriteLine($"smoke: {name} [{parameters}] FAILED: {ex.InnerException?.GetType().Name}: {ex.InnerException?.Message}");
                    }
                }
            }
        }

        output.WriteLine($"smoke: {ran} benchmark(s) ran, {failures} failed");
        return failures == 0 && ran > 0 ? 0 : 1;
    }

    // Sets every parameter to its first value, or its last; returns them as "Name=value, ...".
    private static string SetParameters(object instance, bool last)
    {
        var set = new List<string>();
        foreach (PropertyInfo property in instance.GetType().GetProperties())
        {
            object? value = null;
            if (property.GetCustomAttribute<ParamsAttribute>() is { } values)
            {
                value = last ? values.Values[^1] : values.Values[0];
            }
            else if (property.GetCustomAttribute<ParamsSourceAttribute>() is { } source)
            {
                Type owner = source.Type ?? instance.GetType();
                MemberInfo member = owner.GetMember(source.Name, BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static | BindingFlags.Instance)[0];
                object? target = member is MethodInfo { IsStatic: true } or PropertyInfo { GetMethod.IsStatic: true } or FieldInfo { IsStatic: true } ? null : instance;
                object? items = member switch
                {
                    MethodInfo method => method.Invoke(target, null),
                    PropertyInfo p => p.GetValue(target),
                    FieldInfo f => f.GetValue(target),
                    _ => null,
                };
                object[] all = [.. ((System.Collections.IEnumerable)items!).Cast<object>()];
                value = last ? all[^1] : all[0];
            }

            if (value is not null)
            {
                property.SetValue(instance, value is IConvertible && property.PropertyType.IsPrimitive ? Convert.ChangeType(value, property.PropertyType, System.Globalization.CultureInfo.InvariantCulture) : value);
                set.Add($"{property.Name}={value}");
            }
        }

        return string.Join(", ", set);
    }

    private static void Invoke<TAttribute>(object instance)
        where TAttribute : Attribute
    {
        foreach (MethodInfo method in instance.GetType().GetMethods().Where(m => m.GetCustomAttribute<TAttribute>() is not null))
        {
            method.Invoke(instance, null);
        }
    }
}
