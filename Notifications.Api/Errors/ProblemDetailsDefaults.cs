namespace Notifications.Api.Errors;

/// <summary>
/// Every ProblemDetails the service writes goes through here: validation errors get JSON field names, and the bare
/// status answers of the framework (a 401 challenge, a 404 without a route, a 415) get a detail saying what to do.
/// </summary>
public static class ProblemDetailsDefaults
{
    public static void Customize(ProblemDetailsContext context)
    {
        ValidationErrorNames.UseJsonNames(context);
        var problem = context.ProblemDetails;
        if (!string.IsNullOrEmpty(problem.Detail))
        {
            return;
        }

        problem.Detail = problem.Status switch
        {
            StatusCodes.Status401Unauthorized => "A valid bearer token is required (Authorization: Bearer …; on /hubs also ?access_token=).",
            StatusCodes.Status403Forbidden => "The token is valid but does not allow this.",
            StatusCodes.Status404NotFound => "Nothing was found here, or it is not visible to the caller.",
            StatusCodes.Status405MethodNotAllowed => "This path does not accept this HTTP method.",
            StatusCodes.Status415UnsupportedMediaType => "Send the body as JSON with Content-Type: application/json.",
            _ => null,
        };
    }
}
