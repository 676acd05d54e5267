using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace Notifications.Api.Errors;

/// <summary>Validation errors name fields as the JSON does ("title", "audience"), not as the C# properties.</summary>
public static class ValidationErrorNames
{
    public static void UseJsonNames(ProblemDetailsContext context)
    {
        if (context.ProblemDetails is not HttpValidationProblemDetails validation)
        {
            return;
        }

        var renamed = validation.Errors.ToDictionary(e => ToJsonName(e.Key), e => e.Value, StringComparer.Ordinal);
        validation.Errors.Clear();
        foreach (var (key, value) in renamed)
        {
            validation.Errors[key] = value;
        }
    }

    private static string ToJsonName(string key) =>
        string.Join('.', key.Split('.').Select(part => part.Contains('-', StringComparison.Ordinal) ? part : JsonNamingPolicy.CamelCase.ConvertName(part)));
}
