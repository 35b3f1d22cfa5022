from api import problems

PREFIXES = ("/api/", "/compat/")


class MethodNotAllowedProblemMiddleware:
    """ninja answers a method a path does not take with a bare 405 page; under the
    API's prefixes that is a problem too, keeping ``Allow``."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if response.status_code == 405 and request.path.startswith(PREFIXES):
            answer = problems.refusal(
                request,
                problems.METHOD_NOT_ALLOWED,
                f"{request.method[:20]} is not allowed on {request.path[:200]}.",
            )
            if response.has_header("Allow"):
                answer["Allow"] = response["Allow"]
            return answer
        return response
